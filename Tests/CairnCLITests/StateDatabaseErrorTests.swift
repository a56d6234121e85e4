import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// A state database that cannot be written is named with its fix, never as raw SQLite text, and a
/// full disk still reaches the escalation hooks though no incident can be stored.
@Suite("State database errors", .serialized)
struct StateDatabaseErrorTests {
    let setup: EscalationHarness
    let events: URL

    init() throws {
        setup = try EscalationHarness("state-errors")
        events = setup.temp.path("events.jsonl")
        let hook = setup.temp.path("record-hook.sh")
        try "#!/bin/sh\ncat >> '\(events.path)'; echo >> '\(events.path)'\n".write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        try setup.writeConfig(components: setup.directoryComponent(), escalation: "hooks: [{ path: \(hook.path) }]")
        #expect(try setup.cairn(["backup", "configs"]).status == 0)  // creates the database
    }

    var database: URL { setup.temp.path("state.sqlite") }

    func expectNamedError(_ result: ToolResult, _ fix: String) throws {
        #expect(result.status == 1)
        #expect(!result.stderr.contains("SQLite error") && !result.stderr.contains("INSERT INTO"), "\(result.stderr)")
        #expect(result.stderr.contains("the state database \(database.path) failed"), "\(result.stderr)")
        #expect(result.stderr.contains(fix), "\(result.stderr)")
    }

    @Test func aDatabaseThisUserCannotWriteIsNamedWithTheFix() throws {
        let result: ToolResult
        if geteuid() == 0 {
            // root writes anything; run as nobody, as an operator's unprivileged account would.
            for path in [setup.temp.url.path, setup.data.path, setup.data.appendingPathComponent("app.conf").path] {
                try FileManager.default.setAttributes([.posixPermissions: path.hasSuffix(".conf") ? 0o644 : 0o755], ofItemAtPath: path)
            }
            result = try runShell("""
                CAIRN_CONFIG='\(setup.configFile.path)' setpriv --reuid=65534 --regid=65534 --clear-groups \
                '\(TestPaths.cairnExecutable.path)' backup configs --json
                """, in: setup.temp.url, check: false)
        } else {
            try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: database.path)
            result = try setup.cairn(["backup", "configs", "--json"])
        }
        try expectNamedError(result, "not writable by this user")
        // --json readers get the same error as an object.
        let last = try JSONValue.parse(String(result.text.split(separator: "\n").last ?? ""))
        #expect(last["type"] == .string("error"))
        #expect(last["message"]?.stringValue?.contains(database.path) == true)
    }

    @Test func aFullDiskIsNamedAndStillPagesOnCall() throws {
        // A 256 KiB tmpfs over the state's folder, filled up, in a private mount namespace. Where
        // mount namespaces are not allowed there is no full disk to make: nothing to check.
        guard (try? runShell("unshare -m true", check: false))?.status == 0 else { return }
        let folder = setup.temp.path("full")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = try String(contentsOf: setup.configFile, encoding: .utf8)
            .replacingOccurrences(of: database.path, with: folder.appendingPathComponent("state.sqlite").path)
        try config.write(to: setup.configFile, atomically: true, encoding: .utf8)
        let result = try runShell("""
            unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '\(folder.path)' && \
              CAIRN_CONFIG='\(setup.configFile.path)' '\(TestPaths.cairnExecutable.path)' backup configs >/dev/null 2>&1; \
              head -c 1000000 /dev/zero > '\(folder.path)/filler' 2>/dev/null; \
              CAIRN_CONFIG='\(setup.configFile.path)' '\(TestPaths.cairnExecutable.path)' backup configs"
            """, in: setup.temp.url, check: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains("the state database \(folder.path)/state.sqlite failed"), "\(result.stderr)")
        #expect(result.stderr.contains("is full"), "\(result.stderr)")
        let delivered = try String(contentsOf: events, encoding: .utf8)
        #expect(delivered.contains("\"resources_exhausted\""), "\(delivered)")
        #expect(delivered.contains("could not start"))
    }
}
