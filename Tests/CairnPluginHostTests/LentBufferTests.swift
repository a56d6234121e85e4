import CCairnPlugin
import Foundation
import Testing
@testable import CairnArchive
@testable import CairnCore
@testable import CairnPluginHost
import CairnTestSupport

/// ABI 1.3: the sink's lent buffer and the source's skip, used by the probe plugin's "lend" mode
/// (Tests/Fixtures/probe_plugin.c) in cairn and in a worker process.
@Suite("ABI 1.3: lent buffers and skipped entries")
struct LentBufferTests {
    private let probe: Probe
    init() throws { probe = try Probe() }

    /// What the probe writes: byte i of lent-k.bin is pattern(k, i), as in probe_plugin.c.
    static let sizes = [3_000_000, 100_000, 300_000, 200_000, 37_000, 0]
    static func expected(_ file: Int) -> Data {
        Data((0..<sizes[file]).map { i in UInt8(truncatingIfNeeded: i &* 31 &+ file &* 7 &+ i / 251) })
    }

    /// Lent whole, lent around a log line and another thread's progress, left unused for a buffer
    /// of the plugin's own, written from inside, lent 37 bytes at a time: every byte arrives in order.
    @Test(arguments: PluginIsolation.Mode.allCases)
    func everyWayOfUsingTheLentBufferKeepsEveryByte(mode: PluginIsolation.Mode) throws {
        let (_, archive) = try lentBackup(mode)
        let files = try readAllEntries(DataByteSource(archive)).filter { $0.entry.path.hasPrefix("probe_1/lent-") }
        #expect(files.map(\.entry.path) == (0..<Self.sizes.count).map { "probe_1/lent-\($0).bin" })
        for (file, member) in files.enumerated() {
            #expect(member.data.count == Self.sizes[file], "\(member.entry.path)")
            #expect(member.data == Self.expected(file), "\(member.entry.path) differs from what the plugin wrote")
        }
    }

    /// Skipped, partly read then skipped, read whole then skipped: each entry counts its size once,
    /// and a read after the skip gives 0.
    @Test(arguments: PluginIsolation.Mode.allCases)
    func skipCountsWhatWasNotReadAndLeavesNothing(mode: PluginIsolation.Mode) throws {
        let (component, archive) = try lentBackup(mode)
        let checks = try component.verify(reader: ArchiveReader(source: DataByteSource(archive)), rootFolder: "probe_1",
                                          metadata: try metadataText(archive))
        let detail = try #require(checks.first { $0.name == "lend" }?.detail)
        #expect(detail["sizes"] == .array(Self.sizes.map { .number(Double($0)) }))
        #expect(detail["after_skip"] == .array(Self.sizes.map { _ in .number(0) }))
    }

    /// The bytes a plugin skips are still checked: a checksum that does not match fails the skip.
    @Test(arguments: PluginIsolation.Mode.allCases)
    func aSkippedEntryThatDoesNotMatchItsChecksumFailsTheVerify(mode: PluginIsolation.Mode) throws {
        let (component, archive) = try lentBackup(mode)
        let wrong = FileRecord(path: "lent-0.bin", size: Int64(Self.sizes[0]), sha256: String(repeating: "0", count: 64),
                               mode: 0o644, mtime: 1_700_000_000)
        let reader = ArchiveReader(source: DataByteSource(archive), expectedFiles: ["probe_1/lent-0.bin": wrong])
        do {
            _ = try component.verify(reader: reader, rootFolder: "probe_1", metadata: try metadataText(archive))
            Issue.record("a skipped entry with a wrong checksum passed")
        } catch {
            #expect(describe(error).contains("lent-0.bin"), "\(describe(error))")
            #expect(describe(error).contains("expected \(String(repeating: "0", count: 64))"), "\(describe(error))")
        }
    }

    /// A skip looks at the cancellation between steps, as a plugin reading the bytes would.
    @Test(arguments: PluginIsolation.Mode.allCases)
    func aSkipStopsWhenTheOperationIsCancelled(mode: PluginIsolation.Mode) throws {
        let cancellation = Cancellation()
        let (component, archive) = try lentBackup(mode, cancellation: cancellation)
        cancellation.cancel()
        do {
            _ = try component.verify(reader: ArchiveReader(source: DataByteSource(archive)), rootFolder: "probe_1",
                                     metadata: try metadataText(archive))
            Issue.record("a cancelled verify went on")
        } catch {
            #expect(describe(error).contains("cancelled"), "\(describe(error))")
        }
    }

    /// The probe in "lend" mode and the archive of its backup.
    private func lentBackup(_ mode: PluginIsolation.Mode, cancellation: Cancellation = Cancellation()) throws -> (PluginComponent, Data) {
        let component = try probe.open(["mode": .string("lend")], cancellation: cancellation, mode: mode)
        return (component, try probe.backup(component).archive)
    }

    private func metadataText(_ archive: Data) throws -> String {
        String(decoding: try readAllEntries(DataByteSource(archive)).last!.data, as: UTF8.self)
    }
}
