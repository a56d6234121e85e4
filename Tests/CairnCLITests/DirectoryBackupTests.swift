import Crypto
import Foundation
import Testing
import CairnArchive
import CairnCore
import CairnPluginHost
import CairnTestSupport

/// End-to-end through the real `cairn` binary, the C Directory plugin and the Swift Filesystem
/// plugin, judged by GNU tar, jq and diff.
@Suite("Directory backups end to end", .serialized)
struct DirectoryBackupTests {
    let temp: TemporaryDirectory
    let source: URL
    let store: URL
    let configFile: URL

    init() throws {
        temp = try TemporaryDirectory("cairn-e2e")
        source = temp.path("source")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        try makeTree(at: source)
        try writeConfig()
    }

    func makeTree(at root: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("etc/nested/deeper"), withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: root.appendingPathComponent("etc/hello.txt"))
        try Data().write(to: root.appendingPathComponent("etc/empty"))
        var random = SystemRandomNumberGenerator()
        try Data((0..<300_000).map { _ in UInt8.random(in: 0...255, using: &random) }).write(to: root.appendingPathComponent("etc/nested/random.bin"))
        try Data(String(repeating: "compressible line of text\n", count: 50_000).utf8).write(to: root.appendingPathComponent("etc/nested/deeper/text.log"))
        let long = String(repeating: "long-name-", count: 13) + ".conf"   // 135 bytes: needs pax
        try Data("long\n".utf8).write(to: root.appendingPathComponent("etc/nested/\(long)"))
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: root.appendingPathComponent("etc/hello.txt").path)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("etc/nested/deeper/text.log").path)
        try fm.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_600_000_000)], ofItemAtPath: root.appendingPathComponent("etc/empty").path)
    }

    /// `setting`: one more line of the component's settings.
    func writeConfig(storageRoot: URL? = nil, setting: String = "", extra: String = "") throws {
        let more = setting.isEmpty ? "" : "\n    \(setting)"
        try writeFilesystemConfig(configFile, store: storageRoot ?? store, """
            components:
              configs:
                plugin: directory
                path: \(source.path)\(more)
            \(extra)
            """)
    }

    func cairn(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url, environment: extra)
    }

    func archives() throws -> [String] {
        let folder = store.appendingPathComponent("configs/test")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    @Test func backupVerifyListRestoreRoundTrip() throws {
        let backup = try cairn(["backup", "configs", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        // --json: one JSON object per line; the last is the run's summary.
        let lines = try backup.text.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        let summary = try #require(lines.last)
        #expect(summary["type"] == .string("summary"))
        #expect(summary["outcome"] == .string("success"))
        guard case .array(let backups) = summary["backups"], let made = backups.first else { Issue.record("no backups"); return }
        let id = try #require(made["backup_id"]?.stringValue)
        #expect(id.hasPrefix("configs_"))
        #expect(made["files"]?.numberValue == 5)
        #expect(made["published"] == .bool(true))
        let archive = store.appendingPathComponent("configs/test/\(id).tar.gz")
        let latest = store.appendingPathComponent("configs/test/latest.tar.gz")
        #expect(FileManager.default.fileExists(atPath: archive.path))
        #expect(FileManager.default.contentsEqual(atPath: archive.path, andPath: latest.path))

        // The runbook's own commands read what we stored.
        let listing = try runShell("tar -tzf '\(latest.path)'", check: false)
        #expect(listing.status == 0)
        #expect(listing.text.split(separator: "\n").last == "\(id)/backup_metadata.json")
        let metadataID = try runShell("tar --wildcards -xzOf '\(latest.path)' '*/backup_metadata.json' | jq -r .backup_id", check: false)
        #expect(metadataID.text.trimmingCharacters(in: .whitespacesAndNewlines) == id)

        let verify = try cairn(["verify", "configs", "--backup", id])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("every SHA-256 matches"))

        let list = try cairn(["list", "configs", "--json"])
        let entries = try JSONValue.parse(list.text)
        guard case .array(let rows) = entries else { Issue.record("not a list: \(list.text)"); return }
        #expect(rows.count == 1)
        #expect(rows.first?["latest"] == .bool(true))
        #expect(rows.first?["verified"] == .bool(true))

        let target = temp.path("restored")
        let restore = try cairn(["restore", "configs", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        let diff = try runTool(["diff", "-r", source.path, target.path], check: false)
        #expect(diff.status == 0, "\(diff.text)")
        // Mode and mtime survive.
        let original = try FileManager.default.attributesOfItem(atPath: source.appendingPathComponent("etc/hello.txt").path)
        let restored = try FileManager.default.attributesOfItem(atPath: target.appendingPathComponent("etc/hello.txt").path)
        #expect(restored[.posixPermissions] as? Int == 0o600)
        // tar keeps whole seconds.
        #expect((original[.modificationDate] as? Date)?.timeIntervalSince1970.rounded(.down)
                == (restored[.modificationDate] as? Date)?.timeIntervalSince1970)
        let empty = try FileManager.default.attributesOfItem(atPath: target.appendingPathComponent("etc/empty").path)
        #expect((empty[.modificationDate] as? Date)?.timeIntervalSince1970 == 1_600_000_000)
    }

    func mode(_ url: URL) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int)
    }

    @Test func aRestoreDropsSetuidAndSetgidUnlessTheOperatorKeepsThem() throws {
        let fm = FileManager.default
        let program = source.appendingPathComponent("etc/program")
        try Data("#!/bin/sh\n".utf8).write(to: program)
        try fm.setAttributes([.posixPermissions: 0o6777], ofItemAtPath: program.path)
        let sticky = source.appendingPathComponent("etc/sticky-file")
        try Data("s".utf8).write(to: sticky)
        try fm.setAttributes([.posixPermissions: 0o1644], ofItemAtPath: sticky.path)
        let shared = source.appendingPathComponent("etc/shared")
        try fm.createDirectory(at: shared, withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o3775], ofItemAtPath: shared.path)
        #expect(try mode(program) == 0o6777)
        #expect(try cairn(["backup", "configs"]).status == 0)

        let dropped = temp.path("dropped")
        let restore = try cairn(["restore", "configs", "--backup", "latest", "--target", dropped.path])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        #expect(try mode(dropped.appendingPathComponent("etc/program")) == 0o777)
        #expect(try mode(dropped.appendingPathComponent("etc/sticky-file")) == 0o644)
        #expect(try mode(dropped.appendingPathComponent("etc/shared")) == 0o1775, "a folder keeps its sticky bit")
        #expect(restore.text.contains("dropped the setuid/setgid/sticky bits of 3 entries"), "\(restore.text)")
        #expect(restore.text.contains("set keep_special_modes: true to restore them"), "\(restore.text)")

        try writeConfig(setting: "keep_special_modes: true")
        let kept = temp.path("kept")
        let keep = try cairn(["restore", "configs", "--backup", "latest", "--target", kept.path])
        #expect(keep.status == 0, "\(keep.text)\(keep.stderr)")
        #expect(try mode(kept.appendingPathComponent("etc/program")) == 0o6777)
        #expect(try mode(kept.appendingPathComponent("etc/sticky-file")) == 0o1644)
        #expect(try mode(kept.appendingPathComponent("etc/shared")) == 0o3775)
        #expect(!keep.text.contains("dropped the setuid"), "\(keep.text)")

        try writeConfig(setting: "keep_special_modes: maybe")
        let bad = try cairn(["restore", "configs", "--backup", "latest", "--target", temp.path("bad").path])
        #expect(bad.status != 0)
        #expect((bad.text + bad.stderr).contains("keep_special_modes"), "\(bad.text)\(bad.stderr)")
    }

    @Test func aRestoreThatFailsPartWayRemovesWhatItWrote() throws {
        // Verify passes this archive, but 'a' is a file after 'a/b.txt' made it a folder: the
        // restore fails at its third file, after writing two.
        let id = "configs_20261126_190102"
        let one = Data("one".utf8), two = Data("two".utf8), three = Data("three".utf8)
        let records = [("a/b.txt", one), ("c.txt", two), ("a", three)].map { name, data in
            FileRecord(path: name, size: Int64(data.count), sha256: SHA256.hash(data: data).hexString, mode: 0o644, mtime: 1_700_000_000)
        }
        let folder = store.appendingPathComponent("configs/test")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try pythonTarGz([dirMember(id), fileMember("\(id)/a/b.txt", one), fileMember("\(id)/c.txt", two), fileMember("\(id)/a", three),
                         fileMember("\(id)/backup_metadata.json", try testMetadata(id: id, files: records).encoded())],
                        to: folder.appendingPathComponent("\(id).tar.gz"))
        #expect(try cairn(["verify", "configs", "--backup", id]).status == 0)

        let target = temp.path("parent/half")
        let failed = try cairn(["restore", "configs", "--backup", id, "--target", target.path])
        #expect(failed.status == 1, "\(failed.text)\(failed.stderr)")
        #expect(failed.stderr.contains("cannot create file 'a' in restore target"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target.path), "the failed restore left \(target.path)")

        // A target that existed (empty) stays, and stays empty.
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        #expect(try cairn(["restore", "configs", "--backup", id, "--target", target.path]).status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).isEmpty)
    }

    @Test func verifyAndRestoreRefuseTheSameHostileArchivesWithTheSameReason() throws {
        let folder = store.appendingPathComponent("configs/test")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let data = Data("x".utf8)
        let long = (0 ..< 300).map { _ in String(repeating: "p", count: 199) }.joined(separator: "/")   // 60 KiB
        let cases: [(id: String, name: String, global: [String: String], reason: String)] = [
            ("configs_20261126_190103", long, [:], "more than the 4095 bytes a restore can create (PATH_MAX)"),
            ("configs_20261126_190104", "a.txt", ["path": "elsewhere/a.txt"], "a pax global header sets 'path'"),
        ]
        for item in cases {
            let record = FileRecord(path: item.name, size: 1, sha256: SHA256.hash(data: data).hexString, mode: 0o644, mtime: 1_700_000_000)
            try pythonTarGz([dirMember(item.id), fileMember("\(item.id)/\(item.name)", data),
                             fileMember("\(item.id)/backup_metadata.json", try testMetadata(id: item.id, files: [record]).encoded())],
                            to: folder.appendingPathComponent("\(item.id).tar.gz"), globalHeaders: item.global)
            let verify = try cairn(["verify", "configs", "--backup", item.id])
            #expect(verify.status == 1, "\(verify.text)\(verify.stderr)")
            #expect(verify.text.contains(item.reason), "\(verify.text)")
            let target = temp.path("hostile-\(item.id)")
            let restore = try cairn(["restore", "configs", "--backup", item.id, "--target", target.path])
            #expect(restore.status == 1, "\(restore.text)\(restore.stderr)")
            #expect(restore.stderr.contains("refusing to restore configs/test/\(item.id).tar.gz: the archive is damaged"), "\(restore.stderr)")
            #expect(restore.stderr.contains(item.reason), "\(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target.path))
        }
    }

    @Test func aComponentRefusingItsSourceLeavesNoArchiveAndKeepsLatest() throws {
        #expect(try cairn(["backup", "configs"]).status == 0)
        let before = try archives()
        let latest = store.appendingPathComponent("configs/test/latest.tar.gz")
        let latestBytes = try Data(contentsOf: latest)
        // A link out of the tree, sorted after real files: the plugin fails after streaming some.
        try FileManager.default.createSymbolicLink(atPath: source.appendingPathComponent("etc/zz-escape").path, withDestinationPath: "/etc/passwd")
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let failed = try cairn(["backup", "configs"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("etc/zz-escape"))
        #expect(failed.stderr.contains("outside"))
        #expect(try archives() == before)  // no new archive, no leftover temp file
        #expect(try Data(contentsOf: latest) == latestBytes)
    }

    @Test func aFileThatChangesWhileBeingReadFailsTheBackupMidStream() throws {
        #expect(try cairn(["backup", "configs"]).status == 0)
        let before = try archives()
        let latest = store.appendingPathComponent("configs/test/latest.tar.gz")
        let latestBytes = try Data(contentsOf: latest)
        Thread.sleep(forTimeInterval: 1.1)  // a new backup id
        let growing = source.appendingPathComponent("etc/growing.log")
        try Data(count: 64 << 20).write(to: growing)
        let appender = Process()
        appender.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Bounded in time by itself; SIGKILL because a test runner's children may inherit a
        // signal mask that blocks SIGTERM.
        appender.arguments = ["-c", "end=$(($(date +%s) + 60)); while [ $(date +%s) -lt $end ]; do echo more >> '\(growing.path)'; done"]
        try appender.run()
        defer { kill(appender.processIdentifier, SIGKILL); appender.waitUntilExit() }
        let result = try cairn(["backup", "configs"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("etc/growing.log"))
        #expect(result.stderr.contains("changed while being read"))
        #expect(try archives() == before)  // the partial archive is gone, no temp file left
        #expect(try Data(contentsOf: latest) == latestBytes)
    }

    /// Peak resident memory of one `cairn` run, in KiB, as /usr/bin/time reports it.
    func peakKiB(_ arguments: [String]) throws -> (result: ToolResult, kib: Int) {
        let result = try runTool(["/usr/bin/time", "-f", "peak-kib=%M", TestPaths.cairnExecutable.path] + arguments, in: temp.url,
                                 environment: ProcessInfo.processInfo.environment.merging(["CAIRN_CONFIG": configFile.path]) { $1 },
                                 check: false)
        let line = try #require(result.stderr.split(separator: "\n").last { $0.hasPrefix("peak-kib=") })
        return (result, try #require(Int(line.dropFirst("peak-kib=".count))))
    }

    @Test func verifyingKeepsAFixedAmountPerMemberWhateverTheNamesLength() throws {
        // 8,000 folders with names of about 3,800 bytes: 30 MB of names, which verify once kept.
        let id = "configs_20261126_190102"
        let segment = String(repeating: "x", count: 249)
        let deep = Array(repeating: segment, count: 15).joined(separator: "/")
        let members = [dirMember(id)] + (0 ..< 8000).map { dirMember("\(id)/\(String(format: "%05d", $0))/\(deep)") }
            + [fileMember("\(id)/backup_metadata.json", try testMetadata(id: id, files: []).encoded())]
        let folder = store.appendingPathComponent("configs/test")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try pythonTarGz(members, to: folder.appendingPathComponent("\(id).tar.gz"))

        let baseline = try peakKiB(["list", "configs"])
        #expect(baseline.result.status == 0, "\(baseline.result.text)\(baseline.result.stderr)")
        let verify = try peakKiB(["verify", "configs", "--backup", id])
        #expect(verify.result.status == 0, "\(verify.result.text)\(verify.result.stderr)")
        #expect(verify.result.text.contains("8000 directories"), "\(verify.result.text)")
        #expect(verify.kib - baseline.kib < 12 << 10, "verify peaked at \(verify.kib) KiB, a listing at \(baseline.kib) KiB")
    }

    @Test func unknownNamesAndBadConfigAreUsageErrors() throws {
        let unknown = try cairn(["backup", "confgs"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown component 'confgs'"))
        #expect(unknown.stderr.contains("Did you mean 'configs'?"))

        try writeConfig(extra: "retension: 3")
        let badKey = try cairn(["backup", "configs"])
        #expect(badKey.status == 2)
        #expect(badKey.stderr.contains("cairn.yaml:9:1: unknown key 'retension'"))
        #expect(badKey.stderr.contains("did you mean 'retention'?"))

        try "storage: {type: tape}\ncomponents: {configs: {plugin: directory, path: /tmp}}\n".write(to: configFile, atomically: true, encoding: .utf8)
        let badStore = try cairn(["backup", "configs"])
        #expect(badStore.status == 2)
        #expect(badStore.stderr.contains("unknown storage plugin 'tape'"))
    }

    @Test func aStoreThatIsNotWritableIsReportedBeforeAnythingIsBackedUp() throws {
        #expect(try cairn(["check", "storage"]).status == 0)
        let blocker = temp.path("not-a-directory")
        try Data("x".utf8).write(to: blocker)
        try writeConfig(storageRoot: blocker.appendingPathComponent("store"))
        let check = try cairn(["check", "storage"])
        #expect(check.status == 1)
        #expect(check.text.contains("FAIL"))
        let result = try cairn(["backup", "configs"])
        #expect(result.status == 1)
        #expect((result.text + result.stderr).contains(blocker.path))
    }

    @Test func pluginsListAndInspect() throws {
        let list = try cairn(["plugins", "list", "--check"])
        #expect(list.status == 0)
        #expect(list.text.contains("directory"))
        #expect(list.text.contains("filesystem"))
        let library = TestPaths.buildDirectory.appendingPathComponent("libCairnDirectory.so")
        let inspect = try cairn(["plugins", "inspect", library.path])
        #expect(inspect.status == 0, "\(inspect.text)\(inspect.stderr)")
        #expect(inspect.text.contains("action count_files(path: string) -> int64"))
        let bogus = temp.path("libbogus.so")
        try Data("not a library".utf8).write(to: bogus)
        try Data(#"{"name":"bogus","kind":"storage","version":"1","abi":{"major":1,"minor":0},"library":"libbogus.so"}"#.utf8)
            .write(to: temp.path("plugin.json"))
        let broken = try cairn(["plugins", "inspect", bogus.path])
        #expect(broken.status == 2)
        #expect(broken.text.contains("is not an ELF shared library"))

        // By name, as plugins list shows it; an unknown name is a usage error.
        let byName = try cairn(["plugins", "inspect", "directory"])
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(byName.text.contains("action count_files(path: string) -> int64"))
        let unknown = try cairn(["plugins", "inspect", "sqlite"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no plugin named 'sqlite'"), "\(unknown.stderr)")
    }

    @Test func pluginsListValidatesWhatTheManifestsClaim() throws {
        // The Directory library under a manifest that lies about its name: listed as broken, and why.
        let liar = temp.path("plugins/liar")
        try FileManager.default.createDirectory(at: liar, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestPaths.buildDirectory.appendingPathComponent("libCairnDirectory.so"),
                                         to: liar.appendingPathComponent("libCairnDirectory.so"))
        try Data(#"{"name":"liar","kind":"component","version":"1.0.0","abi":{"major":1,"minor":\#(HostABI.minor)},"library":"libCairnDirectory.so","language":"c"}"#.utf8)
            .write(to: liar.appendingPathComponent("plugin.json"))
        let list = try cairn(["plugins", "list", "--json"], environment: ["CAIRN_PLUGIN_PATH": temp.path("plugins").path])
        #expect(list.status == 0)
        guard case .array(let rows) = try JSONValue.parse(list.text) else { Issue.record("no list"); return }
        let row = try #require(rows.first { $0["name"] == .string("liar") })
        #expect(row["status"]?.stringValue?.contains("manifest says name 'liar', the library says 'directory'") == true, "\(row)")
        #expect(rows.first { $0["name"] == .string("directory") }?["status"] == .string("ok"))
        // Without loading, the claim is all there is.
        let claimed = try cairn(["plugins", "list", "--manifests-only"], environment: ["CAIRN_PLUGIN_PATH": temp.path("plugins").path])
        #expect(claimed.text.split(separator: "\n").contains { $0.hasPrefix("liar") && $0.contains(" ok ") }, "\(claimed.text)")
    }
}
