import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// Encrypted backups end to end through the real `cairn` binary, the Directory plugin and the
/// filesystem store, with Debian's age, GNU tar and jq as judges.
@Suite("Encrypted backups end to end", .serialized)
struct EncryptedBackupTests {
    let temp: TemporaryDirectory
    let source: URL
    let store: URL
    let configFile: URL
    var folder: URL { store.appendingPathComponent("configs/test") }

    init() throws {
        temp = try TemporaryDirectory("cairn-age")
        source = temp.path("source")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("etc/nested"), withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: source.appendingPathComponent("etc/hello.txt"))
        try TestData.random(300_000, seed: 3).write(to: source.appendingPathComponent("etc/nested/random.bin"))
        try Data(String(repeating: "compressible line of text\n", count: 20_000).utf8).write(to: source.appendingPathComponent("etc/nested/text.log"))
    }

    func keygen(_ name: String) throws -> (file: URL, recipient: String) {
        let file = temp.path(name)
        try runTool(["age-keygen", "-o", file.path])
        return (file, try runTool(["age-keygen", "-y", file.path]).text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func writeConfig(encryption: String, extra: String = "") throws {
        try writeFilesystemConfig(configFile, store: store, """
            components:
              configs:
                plugin: directory
                path: \(source.path)
            retention: { keep_last: 1 }
            \(encryption)
            \(extra)
            """)
    }

    func recipientsConfig(_ recipients: [String], identityFile: URL? = nil) -> String {
        "encryption:\n  recipients: [\(recipients.map { "\"\($0)\"" }.joined(separator: ", "))]"
            + (identityFile.map { "\n  identity_file: \($0.path)" } ?? "")
    }

    func cairn(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ToolResult {
        try runCairn(arguments, config: configFile, in: temp.url,
                     unset: ["CAIRN_AGE_IDENTITY", "CAIRN_AGE_IDENTITY_FILE", "CAIRN_AGE_PASSPHRASE", "CAIRN_AGE_PASSPHRASE_FILE"],
                     environment: environment)
    }

    func files() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() }

    func backup() throws -> String {
        let result = try cairn(["backup", "configs", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try JSONValue.parse(String(result.text.split(separator: "\n").last ?? ""))
        guard case .array(let backups) = summary["backups"], let id = backups.first?["backup_id"]?.stringValue else {
            throw ToolFailure(command: "cairn backup", result: result)
        }
        return id
    }

    @Test func ageReadsWhatCairnWroteAndEveryCommandWorksWithTheIdentity() throws {
        let primary = try keygen("primary.txt"), breakGlass = try keygen("break-glass.txt")
        // The backup host has only the recipients: it reads its new archive back with the file key it made.
        try writeConfig(encryption: recipientsConfig([primary.recipient, breakGlass.recipient]))
        let id = try backup()
        #expect(files() == ["\(id).tar.gz.age", "latest.tar.gz.age"])
        let latest = folder.appendingPathComponent("latest.tar.gz.age")
        #expect(try Data(contentsOf: latest).prefix(22) == Data("age-encryption.org/v1\n".utf8))
        // The runbook's command, with age in front: either key opens it.
        for key in [primary, breakGlass] {
            let metadata = try runShell("age -d -i '\(key.file.path)' '\(latest.path)' | tar -xzO --wildcards '*/backup_metadata.json' | jq -r .backup_id")
            #expect(metadata.text.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        }
        try runShell("age -d -i '\(primary.file.path)' '\(latest.path)' | gzip -t")

        // Names and sizes need no identity.
        for command in [["list", "configs"], ["latest"], ["size"]] {
            let result = try cairn(command)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(result.text.contains(command[0] == "size" ? "configs" : id), "\(command): \(result.text)")
        }
        // Reading does, and the error says exactly what is missing.
        // Every command stops as on a configuration error (exit 2), and nothing is escalated.
        for command in [["verify", "configs", "--backup", "latest"], ["integrity"], ["validate"],
                        ["restore", "configs", "--backup", "latest", "--target", temp.path("nowhere").path]] {
            let result = try cairn(command)
            #expect(result.status == 2, "\(command): \(result.text) \(result.stderr)")
            #expect(result.stderr.contains("is encrypted (age) and no identity is configured"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("CAIRN_AGE_IDENTITY_FILE"))
        }
        #expect(!FileManager.default.fileExists(atPath: temp.path("nowhere").path))
        #expect(try cairn(["incidents", "--json"]).text.filter { !$0.isWhitespace } == "[]")

        // With the identity from a variable, a file variable or cairn.yaml, everything reads.
        let secret = try String(contentsOf: primary.file, encoding: .utf8)
        let secretLine = secret.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init)!
        let ways: [[String: String]] = [["CAIRN_AGE_IDENTITY": secret], ["CAIRN_AGE_IDENTITY_FILE": breakGlass.file.path]]
        for environment in ways {
            for command in [["verify", "configs", "--backup", "latest"], ["integrity"], ["validate"]] {
                let result = try cairn(command, environment)
                #expect(result.status == 0, "\(command) \(environment.keys): \(result.text) \(result.stderr)")
                #expect(!result.text.contains(secretLine) && !result.stderr.contains(secretLine))
            }
        }
        try writeConfig(encryption: recipientsConfig([primary.recipient, breakGlass.recipient], identityFile: primary.file))
        let target = temp.path("restored")
        let restore = try cairn(["restore", "configs", "--backup", id, "--target", target.path])
        #expect(restore.status == 0, "\(restore.stderr)")
        try runTool(["diff", "-r", source.appendingPathComponent("etc").path, target.appendingPathComponent("etc").path])

        // A second backup, then prune keeps one: the older encrypted archive goes.
        let second = try backup()
        #expect(files() == ["\(id).tar.gz.age", "\(second).tar.gz.age", "latest.tar.gz.age"].sorted())
        let prune = try cairn(["prune"])
        #expect(prune.status == 0, "\(prune.text) \(prune.stderr)")
        #expect(files() == ["\(second).tar.gz.age", "latest.tar.gz.age"])

        // An identity that is not among the recipients: a configuration error that says so.
        let stranger = try keygen("stranger.txt")
        let wrong = try cairn(["verify", "configs", "--backup", "latest"], ["CAIRN_AGE_IDENTITY_FILE": stranger.file.path])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("none of the 1 identity given can open it"), "\(wrong.stderr)")
    }

    /// zstd and encryption compose: `.tar.zst.age` and `latest.tar.zst.age`, one latest after
    /// switching from plain gzip, read by `age -d | tar --zstd` and by cairn with the identity.
    @Test func zstdEncryptedBackupsAreTarZstAge() throws {
        let key = try keygen("key.txt")
        try writeConfig(encryption: "")
        let plain = try backup()
        #expect(files() == ["\(plain).tar.gz", "latest.tar.gz"])
        sleep(1)  // a new backup id
        try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file), extra: "compression: { format: zstd }")
        let id = try backup()
        // Publishing removed the plain latest: exactly one latest, under the new name.
        #expect(files() == ["\(plain).tar.gz", "\(id).tar.zst.age", "latest.tar.zst.age"])
        let latest = folder.appendingPathComponent("latest.tar.zst.age")
        #expect(try Data(contentsOf: latest).prefix(22) == Data("age-encryption.org/v1\n".utf8))
        let listing = try runShell("age -d -i '\(key.file.path)' '\(latest.path)' | tar --zstd -t")
        #expect(listing.text.contains("\(id)/backup_metadata.json"), "\(listing.text)")
        #expect(listing.text.contains("etc/nested/random.bin"), "\(listing.text)")
        let metadata = try runShell("age -d -i '\(key.file.path)' '\(latest.path)' | tar --zstd -xO --wildcards '*/backup_metadata.json' | jq -r .backup_id")
        #expect(metadata.text.trimmingCharacters(in: .whitespacesAndNewlines) == id)

        for selector in ["latest", id, plain] {
            let verify = try cairn(["verify", "configs", "--backup", selector])
            #expect(verify.status == 0, "\(selector): \(verify.text) \(verify.stderr)")
        }
        for command in [["integrity"], ["validate"], ["latest"]] {
            let result = try cairn(command)
            #expect(result.status == 0, "\(command): \(result.text) \(result.stderr)")
        }
        #expect(try cairn(["latest"]).text.contains(id))
        let list = try cairn(["list", "configs"])
        #expect(list.text.contains(id) && list.text.contains(plain), "\(list.text)")
        let target = temp.path("restored-zst")
        let restore = try cairn(["restore", "configs", "--backup", "latest", "--target", target.path])
        #expect(restore.status == 0, "\(restore.text) \(restore.stderr)")
        try runTool(["diff", "-r", source.appendingPathComponent("etc").path, target.appendingPathComponent("etc").path])

        // Without the identity the reader says what is missing, for the .tar.zst.age name too.
        try writeConfig(encryption: recipientsConfig([key.recipient]), extra: "compression: { format: zstd }")
        let missing = try cairn(["verify", "configs", "--backup", "latest"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("latest.tar.zst.age is encrypted (age) and no identity is configured"), "\(missing.stderr)")
    }

    @Test func cairnRestoresWhatAgeEncrypted() throws {
        // A plain backup, encrypted by age itself (to a recipient, then with a passphrase).
        try writeConfig(encryption: "")
        let id = try backup()
        let plain = folder.appendingPathComponent("\(id).tar.gz")
        let key = try keygen("key.txt")
        // Turning encryption on keeps the plain backups readable, by id and as latest.
        try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file))
        for selector in [id, "latest"] {
            let verify = try cairn(["verify", "configs", "--backup", selector])
            #expect(verify.status == 0, "\(selector): \(verify.text) \(verify.stderr)")
        }
        #expect(try cairn(["list", "configs"]).text.contains(id))
        try runTool(["age", "-r", key.recipient, "-o", folder.appendingPathComponent("\(id).tar.gz.age").path, plain.path])
        for name in ["\(id).tar.gz", "latest.tar.gz"] { try FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        try FileManager.default.copyItem(at: folder.appendingPathComponent("\(id).tar.gz.age"), to: folder.appendingPathComponent("latest.tar.gz.age"))
        try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file))
        let verify = try cairn(["verify", "configs", "--backup", "latest"])
        #expect(verify.status == 0, "\(verify.text) \(verify.stderr)")
        let target = temp.path("from-age")
        #expect(try cairn(["restore", "configs", "--backup", id, "--target", target.path]).status == 0)
        try runTool(["diff", "-r", source.appendingPathComponent("etc").path, target.appendingPathComponent("etc").path])

        // age -p reads the passphrase from a terminal: `script` gives it one.
        let passphrase = "a long passphrase for the archive"
        let decrypted = temp.path("plain.tar.gz")
        try runTool(["age", "-d", "-i", key.file.path, "-o", decrypted.path, folder.appendingPathComponent("latest.tar.gz.age").path])
        var environment = ProcessInfo.processInfo.environment
        environment["ANSWERS"] = "\(passphrase)\n\(passphrase)\n"
        environment["COMMAND"] = "age -p -o '\(folder.appendingPathComponent("latest.tar.gz.age").path)' '\(decrypted.path)'"
        try runTool(["sh", "-c", "(printf '%s' \"$ANSWERS\"; sleep 2) | script -q -e -c \"$COMMAND\" /dev/null"], environment: environment)
        let passphraseFile = temp.path("passphrase")
        try Data("\(passphrase)\n".utf8).write(to: passphraseFile)
        try writeConfig(encryption: "encryption:\n  passphrase_file: \(passphraseFile.path)")
        let byPassphrase = temp.path("from-age-p")
        let restore = try cairn(["restore", "configs", "--backup", "latest", "--target", byPassphrase.path])
        #expect(restore.status == 0, "\(restore.text) \(restore.stderr)")
        try runTool(["diff", "-r", source.appendingPathComponent("etc").path, byPassphrase.appendingPathComponent("etc").path])
        #expect(!restore.stderr.contains(passphrase) && !restore.text.contains(passphrase))
    }

    @Test func secretsAreNeverTakenFromTheConfigFile() throws {
        try writeConfig(encryption: "encryption:\n  recipients: [\"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj\"]\n  identity: AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        let result = try cairn(["latest"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("secrets are never read from cairn.yaml"), "\(result.stderr)")
        #expect(!result.stderr.contains("GFPYYSJZ"))
        try writeConfig(encryption: "encryption:\n  recipients: [\"age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk\"]")
        let typo = try cairn(["latest"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("encryption.recipients[0]") && typo.stderr.contains("checksum"), "\(typo.stderr)")
    }

    /// Damage between the write and the read-back: the run's verify catches each kind with its own
    /// message, removes the new archive and leaves latest as it was.
    @Test func damageIsCaughtBeforePublishingAndLatestStays() throws {
        let key = try keygen("key.txt")
        try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file))
        let first = try backup()
        let latest = folder.appendingPathComponent("latest.tar.gz.age")
        let published = try Data(contentsOf: latest)
        let cases = [("truncate", "the file was cut short inside it"),
                     ("header", "the age header's MAC does not match the header"),
                     ("mac", "the age header's MAC does not match the header"),
                     ("chunk", "payload chunk 1 (at byte ")]
        for (mode, message) in cases {
            try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file), extra: """
                pipelines:
                  damaged:
                    steps:
                      - backup: configs
                      - hook: { path: \(TestPaths.fixtures.appendingPathComponent("age-damage.py").path), args: [\(mode), \(folder.path)] }
                      - verify: configs
                      - publish: configs
                """)
            sleep(1)  // a new backup id, so that the damaged archive is the newest
            let run = try cairn(["run", "damaged"])
            #expect(run.status == 1, "\(mode): \(run.text) \(run.stderr)")
            #expect((run.text + run.stderr).contains(message), "\(mode): \(run.text) \(run.stderr)")
            #expect((run.text + run.stderr).contains("cannot decrypt"), "\(mode)")
            #expect(try Data(contentsOf: latest) == published, "\(mode): latest changed")
            #expect(files() == ["\(first).tar.gz.age", "latest.tar.gz.age"], "\(mode): the damaged archive stayed")
        }
    }

    /// Damage in a stored archive: verify names it, restore refuses before writing anything.
    @Test func damagedStoredArchivesAreRefused() throws {
        let key = try keygen("key.txt")
        try writeConfig(encryption: recipientsConfig([key.recipient], identityFile: key.file))
        let id = try backup()
        let archive = folder.appendingPathComponent("\(id).tar.gz.age")
        let good = try Data(contentsOf: archive)
        for (mode, message) in [("truncate", "cut short"), ("mac", "MAC does not match"), ("chunk", "payload chunk 1")] {
            try good.write(to: archive, options: .atomic)
            try runTool(["python3", TestPaths.fixtures.appendingPathComponent("age-damage.py").path, mode, folder.path])
            let verify = try cairn(["verify", "configs", "--backup", id])
            #expect(verify.status == 1, "\(mode): \(verify.text) \(verify.stderr)")
            #expect((verify.text + verify.stderr).contains(message), "\(mode): \(verify.text) \(verify.stderr)")
            let target = temp.path("restore-\(mode)")
            let restore = try cairn(["restore", "configs", "--backup", id, "--target", target.path])
            #expect(restore.status != 0, "\(mode)")
            #expect((restore.text + restore.stderr).contains(message), "\(mode): \(restore.text) \(restore.stderr)")
            #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("etc").path), "\(mode): restore wrote files")
        }
        // latest is a separate copy, untouched by all of this.
        #expect(try cairn(["verify", "configs", "--backup", "latest"]).status == 0)
    }

    /// The identity and the passphrase reach no hook, log, record, state database or output.
    @Test func secretsStayOutOfHooksLogsAndOutput() throws {
        let key = try keygen("key.txt")
        let secret = try String(contentsOf: key.file, encoding: .utf8)
        let secretLine = secret.split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init)!
        let hook = temp.path("dump-env.sh")
        try "#!/bin/sh\nenv > \"\(temp.path("hook-env").path)-$CAIRN_PIPELINE\"\n".write(to: hook, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: hook.path)
        let passphrase = "passphrase that must stay secret"
        let passphraseFile = temp.path("passphrase")
        try passphrase.write(to: passphraseFile, atomically: true, encoding: .utf8)
        let logs = temp.path("logs")
        try writeConfig(encryption: recipientsConfig([key.recipient]), extra: """
            hooks: { before: [\(hook.path)] }
            logs: { dir: \(logs.path) }
            state: { path: \(temp.path("state.sqlite").path) }
            """)
        let environment = ["CAIRN_AGE_IDENTITY": secret, "CAIRN_AGE_PASSPHRASE_FILE": passphraseFile.path]
        var outputs = ""
        _ = try backup()
        for command in [["verify", "configs", "--backup", "latest", "--json"], ["integrity", "--json"], ["validate"],
                        ["restore", "configs", "--backup", "latest", "--target", temp.path("out").path, "--verbose"]] {
            let result = try cairn(command, environment)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            outputs += result.text + result.stderr
        }
        // A wrong identity's error names where it came from, not what it is.
        let wrong = try cairn(["verify", "configs", "--backup", "latest"], ["CAIRN_AGE_IDENTITY": "AGE-SECRET-KEY-1NOTAKEY"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("CAIRN_AGE_IDENTITY, line 1"), "\(wrong.stderr)")
        outputs += wrong.stderr
        var written = outputs
        for folder in [temp.url, logs] {
            for name in try FileManager.default.subpathsOfDirectory(atPath: folder.path) where !name.hasPrefix("source") && !name.hasPrefix("out")
                && !["key.txt", "passphrase", "cairn.yaml"].contains(name) {
                if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) {
                    written += String(decoding: data, as: UTF8.self)
                }
            }
        }
        let hookEnvironments = try FileManager.default.contentsOfDirectory(atPath: temp.url.path).filter { $0.hasPrefix("hook-env") }
        #expect(hookEnvironments.count >= 4, "\(hookEnvironments)")
        #expect(!written.contains(secretLine))
        #expect(!written.contains("AGE-SECRET-KEY-1NOTAKEY"))
        #expect(!written.contains(passphrase))
        #expect(!written.contains("CAIRN_AGE_IDENTITY="), "a hook saw the variable")
    }
}
