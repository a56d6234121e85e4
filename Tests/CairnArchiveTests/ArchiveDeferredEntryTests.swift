import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Entries of unknown size are compressed while they arrive and placed behind their tar header
/// at end(): the stream must still be one valid gzip member that GNU tar, gzip and our own
/// verifier read, with back-references that never cross into the wrong bytes.
struct ArchiveDeferredEntryTests {
    static let id = "redis_20261126_220000"
    static let options = ArchiveOptions(threads: 2, chunkSize: 64 << 10)

    /// Repetitive data, the same before, inside and after the deferred entries: a chunk primed
    /// with the wrong dictionary, or a CRC combined in the wrong order, would decode to other bytes.
    private func files() -> [TestFile] {
        let pattern = TestData.text(50_000, seed: 9)
        let repeated = Data((0..<9).flatMap { _ in pattern })
        return [
            TestFile(path: "before.txt", data: repeated.prefix(100_001)),
            TestFile(path: "dump.rdb", data: repeated, unknownSize: true),
            TestFile(path: "second.rdb", data: TestData.random(3 * 65_536 + 5, seed: 10) + repeated.prefix(70_000), unknownSize: true),
            TestFile(path: "tiny", data: Data("x".utf8), unknownSize: true),
            TestFile(path: "after.txt", data: repeated.prefix(200_000)),
        ]
    }

    @Test func gnuTarGzipAndOurVerifierReadIt() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("a.tgz")
        let files = files()
        let sink = try FileByteSink(path: archive.path)
        _ = try writeArchive(id: Self.id, files: files, sink: sink, options: Self.options, piece: 33_333)
        try sink.close()

        try runTool(["gzip", "-t", archive.path])
        let out = temp.path("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", archive.path, "-C", out.path])
        for file in files {
            let extracted = try Data(contentsOf: out.appendingPathComponent("\(Self.id)/\(file.path)"))
            #expect(extracted == file.data, "\(file.path) differs after GNU tar extraction")
        }
        let listing = try runTool(["tar", "-tvzf", archive.path])
        #expect(listing.text.contains(" \(files[1].data.count) "), "tar lists dump.rdb with its real size: \(listing.text)")

        let verified = try ArchiveVerifier.verify(source: try FileByteSource(path: archive.path), expectedBackupID: Self.id)
        #expect(verified.metadata.files.map(\.path) == files.map(\.path))
        #expect(verified.metadata.files[1].size == Int64(files[1].data.count))
    }

    @Test func dataOfUnknownSizeIsCompressedAsItArrives() throws {
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: Self.id, options: Self.options)
        try writer.begin(ArchiveEntry(path: "dump.rdb", kind: .file, mode: 0o600, mtime: 0, size: nil))
        let data = TestData.random(2 << 20, seed: 11)
        try data.withUnsafeBytes { try writer.write($0) }
        // Before end() the size is unknown, yet the bytes have already gone to the compressor,
        // and none of them reached the sink ahead of their header.
        #expect(writer.uncompressedBytes >= Int64(data.count))
        let beforeEnd = sink.data.count
        try writer.end()
        #expect(sink.data.count > beforeEnd + data.count / 2, "the compressed entry follows its header at end()")
        try writer.finish(metadata: testMetadata(id: Self.id, files: writer.files).encoded())
        let entries = try readAllEntries(DataByteSource(sink.data))
        #expect(entries.first { $0.entry.path.hasSuffix("dump.rdb") }?.data == data)
    }
}
