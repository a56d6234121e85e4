import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// GNU tar 1.34, gzip, jq and Python's tarfile judge our archives, and we read theirs.
struct GNUTarInteropTests {
    static let id = "redis_20261126_190102"

    private func writeOurs(to url: URL) throws -> (directories: [String], files: [TestFile], records: [FileRecord]) {
        let (directories, files) = roundTripFiles(chunkSize: 64 << 10)
        let sink = try FileByteSink(path: url.path)
        let written = try writeArchive(id: Self.id, directories: directories, files: files, sink: sink,
                                       options: ArchiveOptions(threads: 2, chunkSize: 64 << 10))
        try sink.close()
        return (directories, files, written.files)
    }

    @Test func gnuTarListsOurNames() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("a.tgz")
        let (directories, files, _) = try writeOurs(to: archive)
        let listing = try runTool(["tar", "-tzf", archive.path])
        #expect(listing.stderr.isEmpty, "tar warned: \(listing.stderr)")
        let expected = ["\(Self.id)/"] + directories.map { "\(Self.id)/\($0)/" } + files.map { "\(Self.id)/\($0.path)" }
            + ["\(Self.id)/backup_metadata.json"]
        #expect(listing.text.split(separator: "\n").map(String.init) == expected)
        // gzip agrees the stream is one intact member.
        try runTool(["gzip", "-t", archive.path])
        let python = try runTool(["python3", "-c", "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))", archive.path])
        #expect(python.text.split(separator: "\n").map(String.init) == expected.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 })
    }

    @Test func gnuTarExtractsIdenticalFilesModesAndTimes() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("a.tgz")
        let (_, files, records) = try writeOurs(to: archive)
        let out = temp.path("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let extract = try runTool(["tar", "-xpzf", archive.path, "-C", out.path])
        // GNU tar remarks on pre-1970 and future times by design; anything else is a problem.
        let warnings = extract.stderr.split(separator: "\n").filter {
            !$0.contains("before-epoch: implausibly old time stamp") && !($0.contains("far-future: time stamp") && $0.contains("in the future"))
        }
        #expect(warnings.isEmpty, "tar warned: \(extract.stderr)")
        for (file, record) in zip(files, records) {
            let url = out.appendingPathComponent(Self.id).appendingPathComponent(file.path)
            #expect(try Data(contentsOf: url) == file.data, "content of \(file.path)")
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            #expect((attributes[.posixPermissions] as? Int).map(UInt32.init) == file.mode, "mode of \(file.path)")
            let mtime = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
            #expect(mtime.map { Int64($0) } == file.mtime, "mtime of \(file.path)")
            // sha256sum, not our code, confirms the manifest.
            let sum = try runTool(["sha256sum", url.path]).text.prefix(64)
            #expect(String(sum) == record.sha256, "sha256 of \(file.path)")
        }
        let metadata = try BackupMetadata.decode(Data(contentsOf: out.appendingPathComponent("\(Self.id)/backup_metadata.json")))
        #expect(metadata.files == records)
    }

    @Test func gnuTarWildcardFindsMetadataForJq() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("a.tgz")
        _ = try writeOurs(to: archive)
        let result = try runShell("tar --wildcards -xzO -f a.tgz '*/backup_metadata.json' | jq -r .backup_id", in: temp.url)
        #expect(result.text == "\(Self.id)\n")
    }

    /// A tree on disk that GNU tar archives for us to read.
    private func makeTree(in root: URL) throws -> [String: Data] {
        let long = (0..<3).map { "directory-with-a-long-name-\($0)-" + String(repeating: "x", count: 40) }.joined(separator: "/")
        let contents: [String: Data] = [
            "\(Self.id)/dump.rdb": TestData.random(300_000, seed: 21),
            "\(Self.id)/notes.txt": TestData.text(200_000, seed: 22),
            "\(Self.id)/empty": Data(),
            "\(Self.id)/sub/inner/file.bin": TestData.random(513, seed: 23),
            "\(Self.id)/\(long)/\(String(repeating: "f", count: 120)).dat": TestData.text(10_000, seed: 24),
            "\(Self.id)/ünïcödé/名前.txt": Data("utf8".utf8),
        ]
        for (path, data) in contents {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        return contents
    }

    private func expectEntries(_ archive: URL, match contents: [String: Data]) throws {
        let entries = try readAllEntries(try FileByteSource(path: archive.path))
        let files = entries.filter { $0.entry.kind == .file }
        #expect(Set(files.map(\.entry.path)) == Set(contents.keys))
        for file in files { #expect(file.data == contents[file.entry.path], "data of \(file.entry.path)") }
        #expect(entries.contains { $0.entry.path == "\(Self.id)/sub/inner" && $0.entry.kind == .directory })
    }

    @Test(arguments: ["gnu", "pax", "ustar-fallback-default"])
    func weReadGNUTarArchives(format: String) throws {
        let temp = try TemporaryDirectory()
        let contents = try makeTree(in: temp.url)
        let archive = temp.path("gnu.tgz")
        var arguments = ["tar", "-czf", archive.path]
        if format != "ustar-fallback-default" { arguments.append("--format=\(format)") }
        try runTool(arguments + [Self.id], in: temp.url)
        try expectEntries(archive, match: contents)
    }

    @Test func weReadTwoMemberGzip() throws {
        let temp = try TemporaryDirectory()
        let contents = try makeTree(in: temp.url)
        // Split the tar stream mid-way so one member ends inside a file's data.
        try runShell("""
            tar -cf x.tar \(Self.id) && size=$(stat -c %s x.tar) && half=$((size / 2 + 77)) \
            && head -c $half x.tar | gzip > a.gz && tail -c +$((half + 1)) x.tar | gzip -1 > b.gz \
            && cat a.gz b.gz > two.tgz
            """, in: temp.url)
        try runTool(["tar", "-tzf", "two.tgz"], in: temp.url)
        try expectEntries(temp.path("two.tgz"), match: contents)
    }

    @Test func weReadPythonTarfileWithGlobalHeader() throws {
        let temp = try TemporaryDirectory()
        let contents = try makeTree(in: temp.url)
        let script = """
        import sys, tarfile
        with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": "global"}) as tar:
            tar.add(sys.argv[2])
        """
        try runTool(["python3", "-c", script, "py.tgz", Self.id], in: temp.url)
        try expectEntries(temp.path("py.tgz"), match: contents)
    }
}
