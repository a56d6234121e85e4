import CairnArchive
import CairnCore
import CairnPluginHost
import CairnTestSupport
import Foundation
import Logging
import Testing

/// The Redis plugin's restore refuses on its own what its verify refuses, for when the archive it
/// reads is not the one the host checked: the plugin is called directly here, with no check first.
@Suite("Redis restore refuses without the host's check")
struct RedisRestoreRefusalTests {
    static let id = "redis_20261126_190102"

    /// The smallest RDB: header, EOF opcode, CRC64 (left as `crc`).
    static func rdb(crc: [UInt8]) -> Data { Data("REDIS0009".utf8) + Data([0xff]) + Data(crc) }

    func restore(_ files: [TestFile], directories: [String] = [], into target: URL) throws -> Error? {
        let sink = DataByteSink()
        let written = try writeArchive(id: Self.id, directories: directories, files: files, sink: sink)
        let plugin = try PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
            .load("redis", kind: .component)
        let settings = try SettingsResolver.resolve(manifest: plugin.manifest, configured: [:], environment: [:],
                                                    baseDirectory: target, workingDirectory: target, owner: "component 'redis'")
        let component = try PluginComponent(plugin: plugin, instanceName: "redis", settings: settings, logger: Logger(label: "test"),
                                            cancellation: Cancellation(), tempDirectory: NSTemporaryDirectory())
        defer { component.close() }
        let reader = ArchiveReader(source: DataByteSource(sink.data))
        do {
            _ = try component.restore(backupID: Self.id, target: target.path, options: .object([:]), reader: reader,
                                      rootFolder: Self.id, metadata: String(decoding: try written.metadata.encoded(), as: UTF8.self))
            return nil
        } catch {
            return error
        }
    }

    @Test func aBadCRCAStrayFileOrNoRDBIsRefusedAndNothingIsLeft() throws {
        let temp = try TemporaryDirectory("redis-refusal")
        let cases: [(files: [TestFile], directories: [String], message: String)] = [
            ([TestFile(path: "dump.rdb", data: Self.rdb(crc: Array(repeating: 1, count: 8)))], [], "dump.rdb: CRC64 mismatch"),
            ([TestFile(path: "dump.rdb", data: Self.rdb(crc: Array(repeating: 0, count: 8))), TestFile(path: "evil.sh", data: Data("x".utf8))],
             [], "'evil.sh' is a file at the top besides dump.rdb"),
            ([TestFile(path: "notes.txt", data: Data("x".utf8))], [], "'notes.txt' is a file at the top besides dump.rdb"),
            ([TestFile(path: "aof/x.aof", data: Data("*1\r\n$4\r\nPING\r\n".utf8))], ["aof"], "the AOF folder 'aof' has no manifest and there is no dump.rdb"),
        ]
        for (index, item) in cases.enumerated() {
            let target = temp.path("target-\(index)")
            let error = try restore(item.files, directories: item.directories, into: target)
            #expect(String(describing: error ?? CairnError.failure("restored")).contains(item.message), "\(String(describing: error))")
            #expect(!FileManager.default.fileExists(atPath: target.path), "case \(index) left \(target.path)")
        }
        // The same RDB with its checksum disabled (0) restores: the refusals above are not blanket.
        let target = temp.path("good")
        #expect(try restore([TestFile(path: "dump.rdb", data: Self.rdb(crc: Array(repeating: 0, count: 8)))], into: target) == nil)
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("dump.rdb").path))
    }
}
