import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// Secrets mounted as files, end to end through the `cairn` binary: a redis-server that requires
/// a password Cairn reads from `password_file` (or REDIS_PASSWORD_FILE), S3 keys on moto (which
/// checks signatures) from AWS_ACCESS_KEY_ID_FILE / AWS_SECRET_ACCESS_KEY_FILE, and a hook that
/// gets a secret only through its `pass_env`. The secrets then appear nowhere else: not in the
/// output, the run logs, the state database, the archive, history, or the other hooks.
@Suite("Secrets from files", .serialized)
struct SecretFileTests {
    let temp: TemporaryDirectory
    let password = "redis-pw-\(UInt32.random(in: 0...UInt32.max))"
    let hookToken = "hook-token-\(UInt32.random(in: 0...UInt32.max))"

    init() throws { temp = try TemporaryDirectory("cairn-secret-files") }

    func write(_ text: String, to name: String) throws -> URL {
        let url = temp.path(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// cairn.yaml on a filesystem store, with its logs, state and hooks in the temporary folder;
    /// `components` goes under `components:`, indented by two spaces.
    func writeConfig(components: String) throws {
        try writeFilesystemConfig(temp.path("cairn.yaml"), store: temp.path("store"), """
            logs: { dir: \(temp.path("logs").path) }
            state: { path: \(temp.path("state/state.sqlite").path) }
            hooks_dirs: [\(temp.path("hooks").path)]
            components:
            \(components)
            """)
    }

    /// Every byte under `folder` (logs, store, database), as text, for "does it hold the secret".
    func everything(under folder: URL) throws -> String {
        guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return "" }
        var text = ""
        for case let file as URL in files where (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
            text += String(decoding: try Data(contentsOf: file), as: UTF8.self)
            if file.pathExtension == "gz" {  // the archive's members, metadata included
                text += try runShell("tar -xzOf '\(file.path)' 2>/dev/null", check: false).text
            }
        }
        return text
    }

    @Test func aRedisPasswordFromAFileReachesRedisAndNothingElse() throws {
        let redis = try RedisServer(in: temp.path("redis"))
        try redis.cli(["SET", "k", "v"])
        try redis.cli(["CONFIG", "SET", "requirepass", password])  // after the start-up PING
        _ = try write("\(password)\n", to: "secrets/redis-password")
        _ = try write(hookToken + "\n", to: "secrets/hook-token")
        _ = try write("#!/bin/sh\nenv > \"$0.env\"\necho \"$@\" >> \"$0.env\"\n", to: "hooks/plain.sh")
        _ = try write("#!/bin/sh\nenv > \"$0.env\"\n", to: "hooks/given.sh")
        for hook in ["plain.sh", "given.sh"] { #expect(chmod(temp.path("hooks/\(hook)").path, 0o755) == 0) }
        try writeConfig(components: """
              redis:
                plugin: redis
                url: redis://127.0.0.1:\(redis.port)
                password_file: secrets/redis-password
                hooks:
                  before: [{ path: plain.sh }]
                  after: [{ path: given.sh, pass_env: [HOOK_TOKEN] }]
            """)
        let environment = ["HOOK_TOKEN_FILE": temp.path("secrets/hook-token").path]
        func cairn(_ arguments: [String], _ extra: [String: String] = [:]) throws -> ToolResult {
            try runCairn(arguments, config: temp.path("cairn.yaml"), in: temp.url,
                         unset: ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE", "ENVIRONMENT"],
                         environment: environment.merging(extra) { $1 })
        }

        let backup = try cairn(["backup", "redis", "--json"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")   // redis took the password: AUTH worked
        let history = try cairn(["history", "--json"])
        #expect(history.status == 0)

        // The hook that asked for HOOK_TOKEN got it, from the file; the other got neither secret.
        let given = try String(contentsOf: temp.path("hooks/given.sh.env"), encoding: .utf8)
        #expect(given.contains("HOOK_TOKEN=\(hookToken)\n"), "\(given)")
        let plain = try String(contentsOf: temp.path("hooks/plain.sh.env"), encoding: .utf8)
        #expect(!plain.contains(hookToken) && !plain.contains(password), "\(plain)")
        #expect(!given.contains(password))

        let seen = backup.text + backup.stderr + history.text + history.stderr
            + (try everything(under: temp.path("logs"))) + (try everything(under: temp.path("state")))
            + (try everything(under: temp.path("store")))
        #expect(seen.contains("redis_"), "the search looked at the run's traces")
        #expect(!seen.contains(password), "the Redis password leaked")
        #expect(!seen.contains(hookToken), "the hook's token leaked")

        // The variable form, and its errors, which name the file and never the secret.
        let check = try cairn(["check", "redis"], ["REDIS_PASSWORD_FILE": temp.path("secrets/redis-password").path])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        let missing = try cairn(["check", "redis"], ["REDIS_PASSWORD_FILE": temp.path("secrets/nope").path])
        #expect(missing.status == 2, "\(missing.text)\(missing.stderr)")
        #expect(missing.stderr.contains("environment variable REDIS_PASSWORD_FILE: cannot use secret file '\(temp.path("secrets/nope").path)': no such file"),
                "\(missing.stderr)")
        let both = try cairn(["check", "redis"], ["REDIS_PASSWORD_FILE": temp.path("secrets/redis-password").path, "REDIS_PASSWORD": password])
        #expect(both.status == 2)
        #expect(both.stderr.contains("both REDIS_PASSWORD and REDIS_PASSWORD_FILE are set"), "\(both.stderr)")
        for result in [check, missing, both] { #expect(!(result.text + result.stderr).contains(password)) }
    }

    /// A password written into the Redis URL (`redis://user:password@host`) is as secret as the
    /// `password` setting: it authenticates, can come from a file, and shows up nowhere else,
    /// not even in the environment of a hook (which sees every other variable).
    @Test func aPasswordInTheRedisURLIsKeptLikeOne() throws {
        let redis = try RedisServer(in: temp.path("redis"))
        try redis.cli(["SET", "k", "v"])
        try redis.cli(["CONFIG", "SET", "requirepass", password])
        let url = "redis://:\(password)@127.0.0.1:\(redis.port)"
        _ = try write(url + "\n", to: "secrets/redis-url")
        _ = try write("#!/bin/sh\nenv > \"$0.env\"\n", to: "hooks/plain.sh")
        #expect(chmod(temp.path("hooks/plain.sh").path, 0o755) == 0)
        try writeConfig(components: """
              redis:
                plugin: redis
                hooks:
                  before: [{ path: plain.sh }]
            """)
        func cairn(_ arguments: [String], _ environment: [String: String]) throws -> ToolResult {
            try runCairn(arguments, config: temp.path("cairn.yaml"), in: temp.url,
                         unset: ["REDIS_URL", "REDIS_URL_FILE", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE", "ENVIRONMENT"],
                         environment: environment)
        }
        let fromVariable = try cairn(["backup", "redis", "--json"], ["REDIS_URL": url])
        #expect(fromVariable.status == 0, "\(fromVariable.text)\(fromVariable.stderr)")
        let fromFile = try cairn(["backup", "redis", "--json"], ["REDIS_URL_FILE": temp.path("secrets/redis-url").path])
        #expect(fromFile.status == 0, "\(fromFile.text)\(fromFile.stderr)")
        let wrong = try cairn(["check", "redis"], ["REDIS_URL": "redis://:\(password)@127.0.0.1:1/x"])
        #expect(wrong.status != 0)

        let hookEnvironment = try String(contentsOf: temp.path("hooks/plain.sh.env"), encoding: .utf8)
        #expect(hookEnvironment.contains("CAIRN_COMPONENT=redis"), "\(hookEnvironment)")
        let seen = [fromVariable, fromFile, wrong].map { $0.text + $0.stderr }.joined() + hookEnvironment
            + (try everything(under: temp.path("logs"))) + (try everything(under: temp.path("state")))
            + (try everything(under: temp.path("store")))
        #expect(seen.contains("redis_"), "the search looked at the run's traces")
        #expect(!seen.contains(password), "the password in the URL leaked")
    }

    @Test func s3KeysFromFilesSignRequestsMotoAccepts() throws {
        let setup = try MotoCairn("cairn-secret-files-s3")
        #expect(try setup.aws("s3 mb s3://keys").status == 0)
        let data = setup.temp.path("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: data.appendingPathComponent("a.txt"))
        try setup.writeConfig(bucket: "keys", "components: { configs: { plugin: directory, path: \(data.path) } }")
        let keyFile = setup.temp.path("aws-key-id"), secretFile = setup.temp.path("aws-secret")
        try Data("\(setup.moto.accessKey)\n".utf8).write(to: keyFile)
        try Data("\(setup.moto.secretKey)\n".utf8).write(to: secretFile)
        // The plain variables are emptied (unset for the settings), so only the files can sign.
        let fromFiles = ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                         "AWS_ACCESS_KEY_ID_FILE": keyFile.path, "AWS_SECRET_ACCESS_KEY_FILE": secretFile.path]
        let backup = try setup.cairn(["backup", "configs"], environment: fromFiles)
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        #expect(try setup.aws("s3 ls s3://keys/configs/test/").text.contains("latest.tar.gz"))
        let logs = try everything(under: setup.temp.path("logs"))
        #expect(!logs.isEmpty)
        #expect(!(logs + backup.text + backup.stderr).contains(setup.moto.secretKey))

        // A wrong secret in the file is refused by moto's signature check: the file is what signed.
        try Data("not-the-secret\n".utf8).write(to: secretFile)
        let wrong = try setup.cairn(["backup", "configs"], environment: fromFiles)
        #expect(wrong.status != 0, "\(wrong.text)\(wrong.stderr)")
        #expect(!(wrong.text + wrong.stderr).contains("not-the-secret"))
    }
}
