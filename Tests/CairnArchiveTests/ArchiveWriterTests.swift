import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Misuse and failures of ArchiveWriter: rejected before damage where possible, fatal otherwise.
struct ArchiveWriterTests {
    private func file(_ path: String, size: Int64? = 0) -> ArchiveEntry {
        ArchiveEntry(path: path, kind: .file, mode: 0o644, mtime: 1_700_000_000, size: size)
    }

    @Test(arguments: ["", "/abs", "a/../b", "..", "./a", "a/.", "a//b", "a/", "backup_metadata.json"])
    func invalidPathsAreRejected(path: String) throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        guard case .invalidPath(let rejected, let reason) = archiveError({ try writer.begin(file(path)) }) else {
            Issue.record("'\(path)' was accepted"); return
        }
        #expect(rejected == path && !reason.isEmpty)
        // Nothing was written: the writer is still usable.
        try writer.begin(file("ok.txt"))
        try writer.end()
    }

    @Test func fileAndFolderWithTheSameNameAreRejected() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        try writer.begin(file("a"))
        try writer.end()
        guard case .invalidPath("a/b", _) = archiveError({ try writer.begin(file("a/b")) }) else {
            Issue.record("file below a file accepted"); return
        }
        try writer.begin(file("c/d"))
        try writer.end()
        guard case .invalidPath("c", _) = archiveError({ try writer.begin(file("c")) }) else {
            Issue.record("file named like a folder accepted"); return
        }
        // An explicit directory entry for an implied folder is fine, after its content too.
        try writer.begin(ArchiveEntry(path: "c", kind: .directory, mode: 0o755, mtime: 0, size: nil))
    }

    @Test func metadataNameIsAllowedBelowTheTop() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        try writer.begin(file("sub/backup_metadata.json"))
        try writer.end()
    }

    @Test func nulBytesAreRejected() throws {
        // Not a test argument: a NUL in the name would garble the test log.
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        guard case .invalidPath = archiveError({ try writer.begin(file("a\u{0}b")) }) else { Issue.record("NUL accepted"); return }
        guard case .invalidPath = archiveError({ _ = try ArchiveWriter(sink: DataByteSink(), rootFolder: "x\u{0}") }) else {
            Issue.record("NUL accepted in root"); return
        }
    }

    @Test(arguments: ["", "a/b", "..", "."])
    func invalidRootFoldersAreRejected(root: String) {
        guard case .invalidPath = archiveError({ _ = try ArchiveWriter(sink: DataByteSink(), rootFolder: root) }) else {
            Issue.record("root '\(root)' was accepted"); return
        }
    }

    @Test func invalidOptionsAreRejected() {
        for options in [ArchiveOptions(compressionLevel: 13), ArchiveOptions(compressionLevel: -1), ArchiveOptions(threads: 0), ArchiveOptions(chunkSize: 1000)] {
            guard case .invalidOptions = archiveError({ _ = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id", options: options) }) else {
                Issue.record("accepted \(options)"); continue
            }
        }
    }

    @Test func writeBeyondDeclaredSize() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        try writer.begin(file("f", size: 10))
        let eight = Data(repeating: 1, count: 8)
        try eight.withUnsafeBytes { try writer.write($0) }
        let error = archiveError { try eight.withUnsafeBytes { try writer.write($0) } }
        #expect(error == .sizeMismatch(path: "f", declared: 10, actual: 16))
        // The excess was refused whole, so the entry can still be completed correctly.
        try Data([1, 1]).withUnsafeBytes { try writer.write($0) }
        try writer.end()
        #expect(writer.files.map(\.size) == [10])
    }

    @Test func endShortOfDeclaredSizeIsFatal() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        try writer.begin(file("dump.rdb", size: 10))
        try Data(repeating: 1, count: 5).withUnsafeBytes { try writer.write($0) }
        let error = archiveError { try writer.end() }
        #expect(error == .sizeMismatch(path: "dump.rdb", declared: 10, actual: 5))
        #expect(error?.description.contains("declared 10 bytes, got 5") == true)
        guard case .invalidState = archiveError({ try writer.begin(file("next")) }) else {
            Issue.record("writer still accepted entries after a fatal error"); return
        }
    }

    @Test func callsOutOfOrder() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        defer { writer.abandon() }
        guard case .invalidState = archiveError({ try Data([1]).withUnsafeBytes { try writer.write($0) } }) else {
            Issue.record("write without begin accepted"); return
        }
        try writer.begin(file("a", size: 1))
        guard case .invalidState = archiveError({ try writer.begin(file("b")) }) else { Issue.record("nested begin accepted"); return }
        guard case .invalidState = archiveError({ try writer.finish(metadata: Data()) }) else { Issue.record("finish with open entry"); return }
        try Data([1]).withUnsafeBytes { try writer.write($0) }
        try writer.end()
        #expect(archiveError { try writer.begin(file("a")) } == .duplicateMember("id/a"))
        try writer.begin(ArchiveEntry(path: "d", kind: .directory, mode: 0o755, mtime: 0, size: nil))
        guard case .invalidState = archiveError({ try Data([1]).withUnsafeBytes { try writer.write($0) } }) else {
            Issue.record("write to a directory accepted"); return
        }
        try writer.finish(metadata: Data("{}".utf8))
        guard case .invalidState = archiveError({ try writer.begin(file("late")) }) else { Issue.record("begin after finish"); return }
        #expect(writer.liveCompressionThreads == 0)
    }

    @Test func abandonMidStreamStopsThreadsPromptly() throws {
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id", options: ArchiveOptions(threads: 4, chunkSize: 1 << 20))
        let data = TestData.random(6 << 20, seed: 41)
        try writer.begin(file("big", size: Int64(data.count) * 2))
        try data.withUnsafeBytes { try writer.write($0) }
        #expect(writer.liveCompressionThreads == 4)
        let start = Date()
        writer.abandon()
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(writer.liveCompressionThreads == 0)
        writer.abandon()
        guard case .invalidState = archiveError({ try data.withUnsafeBytes { try writer.write($0) } }) else {
            Issue.record("write after abandon accepted"); return
        }
    }

    final class FailingSink: ByteSink {
        var budget: Int
        init(budget: Int) { self.budget = budget }
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            budget -= bytes.count
            if budget < 0 { throw FileIOError("write", path: "remote", code: ENOSPC) }
        }
    }

    @Test func sinkFailureSurfacesAndAbandonCleansUp() throws {
        let writer = try ArchiveWriter(sink: FailingSink(budget: 100_000), rootFolder: "id",
                                       options: ArchiveOptions(threads: 2, chunkSize: 64 << 10))
        let data = TestData.random(4 << 20, seed: 42)
        try writer.begin(file("big", size: Int64(data.count)))
        var thrown: Error?
        do { try data.withUnsafeBytes { try writer.write($0) } } catch { thrown = error }
        #expect((thrown as? FileIOError)?.code == ENOSPC)
        writer.abandon()
        #expect(writer.liveCompressionThreads == 0)
    }

    @Test func deinitWithoutFinishStopsThreads() throws {
        var writer: ArchiveWriter? = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id")
        try writer!.begin(file("x", size: 3))
        writer = nil  // must not hang or leak running threads
    }
}
