import Foundation
import Testing
import CairnArchive
import CairnCore
import CairnTestSupport

/// `compression:` in cairn.yaml: zstd archives are named `.tar.zst`, read by `tar --zstd` and
/// `zstd -t`, and by every Cairn reader; switching formats keeps exactly one latest.
@Suite("Compression formats end to end", .serialized)
struct CompressionFormatTests {
    let temp: TemporaryDirectory
    let source: URL
    let store: URL
    let configFile: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-formats")
        source = temp.path("source")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data(String(repeating: "compressible line of text\n", count: 40_000).utf8).write(to: source.appendingPathComponent("sub/text.log"))
        try TestData.float32(600_000, seed: 5).write(to: source.appendingPathComponent("vectors.f32"))
        try TestData.random(200_000, seed: 6).write(to: source.appendingPathComponent("random.bin"))
    }

    func writeConfig(_ compression: String) throws {
        try writeFilesystemConfig(configFile, store: store, """
            components:
              data:
                plugin: directory
                path: \(source.path)
            \(compression)
            """)
    }

    func cairn(_ arguments: [String]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url)
    }

    func backupID() throws -> String {
        let backup = try cairn(["backup", "data", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let summary = try JSONValue.parse(String(try #require(backup.text.split(separator: "\n").last)))
        guard case .array(let backups) = summary["backups"], let id = backups.first?["backup_id"]?.stringValue else {
            Issue.record("no backup in \(backup.text)"); return ""
        }
        return id
    }

    @Test func zstdArchivesAreReadByTarZstdAndEveryCommand() throws {
        try writeConfig("compression: { format: zstd, level: 5 }")
        let id = try backupID()
        let folder = store.appendingPathComponent("data/test")
        let archive = folder.appendingPathComponent("\(id).tar.zst")
        #expect(FileManager.default.contentsEqual(atPath: archive.path, andPath: folder.appendingPathComponent("latest.tar.zst").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("latest.tar.gz").path))
        try runTool(["zstd", "-tq", archive.path])
        let out = temp.path("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "--zstd", "-xf", archive.path, "-C", out.path])
        try runTool(["diff", "-r", source.path, out.appendingPathComponent(id).path + "/"], check: false).expectOnly(of: "backup_metadata.json")
        let metadata = try runShell("tar --zstd --wildcards -xOf '\(archive.path)' '*/backup_metadata.json' | jq -r .backup_id")
        #expect(metadata.text.trimmingCharacters(in: .whitespacesAndNewlines) == id)

        #expect(try cairn(["verify", "data", "--backup", "latest"]).status == 0)
        #expect(try cairn(["verify", "data", "--backup", id]).status == 0)
        let list = try cairn(["list", "data"])
        #expect(list.status == 0 && list.text.contains(id), "\(list.text)")
        let latest = try cairn(["latest"])
        #expect(latest.status == 0 && latest.text.contains(id), "\(latest.text)\(latest.stderr)")
        let validate = try cairn(["validate", "data"])
        #expect(validate.status == 0, "\(validate.text)\(validate.stderr)")
        let integrity = try cairn(["integrity", "data"])
        #expect(integrity.status == 0, "\(integrity.text)\(integrity.stderr)")
        let target = temp.path("restored")
        let restore = try cairn(["restore", "data", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(try runTool(["diff", "-r", source.path, target.path]).status == 0)

        // Back to gzip: latest.tar.gz replaces latest.tar.zst; the zstd backup stays readable.
        try writeConfig("compression: { format: gzip }")
        sleep(1)
        let second = try backupID()
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["\(id).tar.zst", "\(second).tar.gz", "latest.tar.gz"].sorted(), "\(names)")
        #expect(try cairn(["verify", "data", "--backup", id]).status == 0)
        let listed = try cairn(["list", "data"])
        #expect(listed.text.contains(id) && listed.text.contains(second), "\(listed.text)")
    }

    @Test func levelsOutsideTheFormatsRangeAreRefused() throws {
        for (yaml, expected) in [("compression: { level: 13 }", "compression level 13 is outside 1...12 for gzip"),
                                 ("compression: { format: zstd, level: 20 }", "compression level 20 is outside 1...19 for zstd"),
                                 ("compression: { level: 0, format: zstd }", "compression level 0 is outside 1...19 for zstd"),
                                 ("compression: { format: lz4 }", "compression.format must be gzip"),
                                 ("compression: { format: gzip, level: 6 }\narchive: { compression_level: 6 }", "both set the level")] {
            try writeConfig(yaml)
            let result = try cairn(["backup", "data"])
            #expect(result.status == 2, "\(yaml): \(result.stderr)")
            #expect(result.stderr.contains(expected), "\(yaml): \(result.stderr)")
        }
        try writeConfig("compression: { format: zstd, level: 19 }")
        #expect(try cairn(["backup", "data"]).status == 0)
        try writeConfig("compression: { level: 12 }")
        #expect(try cairn(["backup", "data"]).status == 0)
    }
}

private extension ToolResult {
    /// diff's output names nothing but `file` (only in the extracted folder).
    func expectOnly(of file: String) {
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(file), "\(text)")
    }
}
