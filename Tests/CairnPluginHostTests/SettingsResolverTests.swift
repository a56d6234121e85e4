import Foundation
import Testing
@testable import CairnCore
@testable import CairnPluginHost
import CairnTestSupport

@Suite("Plugin settings")
struct SettingsResolverTests {
    let base = URL(fileURLWithPath: "/etc/cairn")

    @Test func pluginSettingsAreCheckedAgainstTheManifest() throws {
        let manifest = try JSONDecoder().decode(PluginManifest.self, from: Data("""
            {"name":"directory","kind":"component","version":"1.0.0","abi":{"major":1,"minor":0},"library":"x.so",
             "settings":{"path":{"type":"path","required":true,"env":"CAIRN_DIRECTORY_PATH"},
                         "symlinks":{"type":"string","values":["refuse","skip"],"default":"refuse"}}}
            """.utf8))
        let origin = ValueOrigin.file(path: "cairn.yaml", line: 7, column: 5)
        let typo = #expect(throws: CairnError.self) {
            try SettingsResolver.resolve(manifest: manifest, configured: ["pth": ConfigValue(.string("/x"), origin)], environment: [:],
                                         baseDirectory: base, workingDirectory: base, owner: "component 'configs'")
        }
        #expect(typo?.message == "cairn.yaml:7:5: unknown setting 'pth' for component 'configs' (plugin directory knows: path, symlinks); did you mean 'path'?")
        let missing = #expect(throws: CairnError.self) {
            try SettingsResolver.resolve(manifest: manifest, configured: [:], environment: [:],
                                         baseDirectory: base, workingDirectory: base, owner: "component 'configs'")
        }
        #expect(missing?.message == "component 'configs' needs setting 'path': add it to cairn.yaml or set CAIRN_DIRECTORY_PATH")
        // A component written in cairn.yaml is named where it is written.
        let missingInFile = #expect(throws: CairnError.self) {
            try SettingsResolver.resolve(manifest: manifest, configured: [:], environment: [:], baseDirectory: base,
                                         workingDirectory: base, owner: "component 'configs'", entry: .file(path: "cairn.yaml", line: 6, column: 3))
        }
        #expect(missingInFile?.message == "cairn.yaml:6:3: component 'configs' needs setting 'path': add it to cairn.yaml or set CAIRN_DIRECTORY_PATH")
        let resolved = try SettingsResolver.resolve(
            manifest: manifest, configured: ["path": ConfigValue(.string("data"), origin)], environment: [:],
            baseDirectory: base, workingDirectory: URL(fileURLWithPath: "/opt/app"), owner: "component 'configs'")
        #expect(resolved.values["path"]?.value == .string("/etc/cairn/data"))  // relative to the config file
        #expect(resolved.values["symlinks"]?.value == .string("refuse"))
        let fromEnvironment = try SettingsResolver.resolve(
            manifest: manifest, configured: [:], environment: ["CAIRN_DIRECTORY_PATH": "srv"],
            baseDirectory: base, workingDirectory: URL(fileURLWithPath: "/opt/app"), owner: "component 'configs'")
        #expect(fromEnvironment.values["path"]?.value == .string("/opt/app/srv"))  // relative to the working directory
        let badValue = #expect(throws: CairnError.self) {
            try SettingsResolver.resolve(manifest: manifest, configured: ["path": ConfigValue(.string("/x"), origin),
                                                                          "symlinks": ConfigValue(.string("follow"), origin)],
                                         environment: [:], baseDirectory: base, workingDirectory: base, owner: "component 'configs'")
        }
        #expect(badValue?.message == "cairn.yaml:7:5: setting 'symlinks' of component 'configs' must be one of refuse, skip, got \"follow\"")
    }}

/// The command line beats the environment, which beats cairn.yaml, which beats the default: for
/// every pair, with the runbook's flags and variables as the S3 and Redis manifests declare them.
@Suite("Which value wins")
struct SettingsPrecedenceTests {
    let base = URL(fileURLWithPath: "/etc/cairn")
    let manifest = try! JSONDecoder().decode(PluginManifest.self, from: Data("""
        {"name":"store","kind":"storage","version":"1.0.0","abi":{"major":1,"minor":0},"library":"x.so",
         "settings":{"bucket":{"type":"string","env":"S3_BUCKET","flag":"--bucket","default":"builtin"},
                     "part_size":{"type":"string","default":"8MiB"}}}
        """.utf8))

    func bucket(file: String?, variable: String?, flag: String?) throws -> (String?, ValueOrigin?) {
        let file = file.map { ["bucket": ConfigValue(.string($0), .file(path: "cairn.yaml", line: 3, column: 3))] } ?? [:]
        let flags = flag.map { ["--bucket": ConfigValue(.string($0), .commandLine("--bucket"))] } ?? [:]
        let settings = try SettingsResolver.resolve(manifest: manifest, configured: file, flags: flags,
                                                    environment: variable.map { ["S3_BUCKET": $0] } ?? [:],
                                                    baseDirectory: base, workingDirectory: base, owner: "storage 'store'")
        return (settings.values["bucket"]?.value.stringValue, settings.values["bucket"]?.origin)
    }

    @Test func flagBeatsVariableBeatsFileBeatsDefault() throws {
        #expect(try bucket(file: nil, variable: nil, flag: nil).0 == "builtin")
        #expect(try bucket(file: "f", variable: nil, flag: nil).0 == "f")
        #expect(try bucket(file: "f", variable: "v", flag: nil) == ("v", .environment("S3_BUCKET")))
        #expect(try bucket(file: nil, variable: "v", flag: "c") == ("c", .commandLine("--bucket")))
        #expect(try bucket(file: "f", variable: nil, flag: "c").0 == "c")
        #expect(try bucket(file: "f", variable: "v", flag: "c") == ("c", .commandLine("--bucket")))
        #expect(try bucket(file: "f", variable: "", flag: nil).0 == "f")  // an empty variable is unset
    }

    @Test func aFlagThePluginDoesNotDeclareIsRefused() {
        let refused = #expect(throws: CairnError.self) {
            try SettingsResolver.resolve(manifest: manifest, configured: [:],
                                         flags: ["--region": ConfigValue(.string("eu-west-1"), .commandLine("--region"))],
                                         environment: [:], baseDirectory: base, workingDirectory: base, owner: "storage 'store'")
        }
        #expect(refused?.kind == .usage)
        #expect(refused?.message == "command-line option --region: storage 'store' takes no --region (plugin store has options --bucket (bucket))")
    }
}

/// Which store, from the bundled manifests alone: the runbook's --bucket and S3_BUCKET select S3
/// whatever cairn.yaml says, cairn.yaml's type comes next, then the default store.
@Suite("Which store")
struct StoreSelectionTests {
    let registry = PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
    let fileSaysFilesystem = ConfigValue(.string("filesystem"), .file(path: "cairn.yaml", line: 2, column: 9))

    @Test func theDefaultStoreServesWhenNothingIsSaid() throws {
        let chosen = try StoreSelection.choose(configured: nil, flags: [:], environment: [:], registry: registry)
        #expect(chosen.plugin == "filesystem" && chosen.origin == .builtIn && chosen.keepsConfiguredSettings)
    }

    @Test func theFileChoosesWhenNoVariableOrFlagSelectsAStore() throws {
        let chosen = try StoreSelection.choose(configured: fileSaysFilesystem, flags: [:], environment: ["AWS_REGION": "eu-west-1"],
                                               registry: registry)
        #expect(chosen.plugin == "filesystem" && chosen.keepsConfiguredSettings)
    }

    @Test func aBucketSelectsS3AndDropsAnotherStoresSettings() throws {
        let byVariable = try StoreSelection.choose(configured: fileSaysFilesystem, flags: [:], environment: ["S3_BUCKET": "b"],
                                                   registry: registry)
        #expect(byVariable.plugin == "s3" && byVariable.origin == .environment("S3_BUCKET") && !byVariable.keepsConfiguredSettings)
        let byFlag = try StoreSelection.choose(configured: fileSaysFilesystem,
                                               flags: ["--bucket": ConfigValue(.string("b"), .commandLine("--bucket"))],
                                               environment: [:], registry: registry)
        #expect(byFlag.plugin == "s3" && byFlag.origin == .commandLine("--bucket"))
        let fileSaysS3 = ConfigValue(.string("s3"), .file(path: "cairn.yaml", line: 2, column: 9))
        let same = try StoreSelection.choose(configured: fileSaysS3, flags: [:], environment: ["S3_BUCKET": "b"], registry: registry)
        #expect(same.plugin == "s3" && same.keepsConfiguredSettings)
    }
}

/// Every setting a bundled plugin marks `secret` (S3's keys and session token, Redis's password,
/// Weaviate's API key) can come from a file, as Kubernetes mounts Secrets: `<key>_file` in
/// cairn.yaml or the variable `<ENV>_FILE`; trailing newlines are dropped, and no error shows
/// the secret.
@Suite("Secret settings from files")
struct SecretSettingFileTests {
    let dir: TemporaryDirectory
    let secret = "s3cret-from-a-file"

    init() throws { dir = try TemporaryDirectory("secret-files") }

    static var bundledSecrets: [(manifest: PluginManifest, key: String, env: String)] {
        get throws {
            try ["S3", "Redis", "Weaviate"].flatMap { plugin in
                let url = TestPaths.packageRoot.appendingPathComponent("Plugins/\(plugin)/plugin.json")
                let manifest = try JSONDecoder().decode(PluginManifest.self, from: Data(contentsOf: url))
                return (manifest.settings ?? [:]).filter { $0.value.secret == true }.sorted { $0.key < $1.key }
                    .map { (manifest, $0.key, $0.value.env ?? "") }
            }
        }
    }

    func resolve(_ manifest: PluginManifest, _ configured: [String: ConfigValue], _ environment: [String: String]) throws -> PluginSettings {
        try SettingsResolver.resolve(manifest: manifest, configured: configured, environment: environment, baseDirectory: dir.url,
                                     workingDirectory: dir.url, owner: "the \(manifest.name) entry", requireAll: false)
    }

    @Test func everySecretSettingOfTheBundledPluginsComesFromAFile() throws {
        let secrets = try Self.bundledSecrets
        #expect(Set(secrets.map(\.key)) == ["access_key_id", "secret_access_key", "session_token", "password", "sentinel_password", "url", "api_key"])
        try Data("\(secret)\n".utf8).write(to: dir.path("mounted"))
        let origin = ValueOrigin.file(path: "cairn.yaml", line: 4, column: 3)
        for (manifest, key, env) in secrets {
            #expect(!env.isEmpty, "\(key) has no variable")
            // <key>_file in cairn.yaml, relative to it.
            let fromYAML = try resolve(manifest, ["\(key)_file": ConfigValue(.string("mounted"), origin)], [:])
            #expect(fromYAML.values[key]?.value == .string(secret), "\(key)")
            #expect(fromYAML.values[key]?.secret == true)
            // <ENV>_FILE, over cairn.yaml.
            let fromVariable = try resolve(manifest, [key: ConfigValue(.string("in-yaml"), origin)], ["\(env)_FILE": dir.path("mounted").path])
            #expect(fromVariable.values[key]?.value == .string(secret), "\(env)_FILE")
            #expect(fromVariable.values[key]?.origin == .environment("\(env)_FILE"))
            // The variable itself still works, and wins over the file setting.
            let direct = try resolve(manifest, ["\(key)_file": ConfigValue(.string("mounted"), origin)], [env: "from-variable"])
            #expect(direct.values[key]?.value == .string("from-variable"))
            // ...so the file it wins over is not even read.
            let unread = try resolve(manifest, ["\(key)_file": ConfigValue(.string("missing"), origin)], [env: "from-variable"])
            #expect(unread.values[key]?.value == .string("from-variable"))

            var messages: [String] = []
            func refused(_ configured: [String: ConfigValue], _ environment: [String: String]) {
                let error = #expect(throws: CairnError.self) { try resolve(manifest, configured, environment) }
                #expect(error?.kind == .usage)
                messages.append(error?.message ?? "")
            }
            refused(["\(key)_file": ConfigValue(.string("missing"), origin)], [:])
            #expect(messages.last == "cairn.yaml:4:3 (\(key)_file of the \(manifest.name) entry): cannot use secret file '\(dir.path("missing").path)': no such file (for a Kubernetes Secret: is the volume mounted at that path?)",
                    "\(messages.last ?? "")")
            refused([:], ["\(env)_FILE": dir.url.path])
            #expect(messages.last?.contains("environment variable \(env)_FILE: cannot use secret file '\(dir.url.path)': it is a folder") == true, "\(messages.last ?? "")")
            refused([:], [env: secret, "\(env)_FILE": dir.path("mounted").path])
            #expect(messages.last == "both \(env) and \(env)_FILE are set; unset one (\(env)_FILE names a file that holds the secret)")
            refused([key: ConfigValue(.string(secret), origin), "\(key)_file": ConfigValue(.string("mounted"), origin)], [:])
            #expect(messages.last?.contains("has both '\(key)' (cairn.yaml:4:3) and '\(key)_file'; keep one") == true, "\(messages.last ?? "")")
            refused([key: ConfigValue(.number(42), origin)], [:])
            #expect(messages.last?.contains("not shown: secret") == true, "\(messages.last ?? "")")
            for message in messages { #expect(!message.contains(secret), "\(message)") }
        }
    }

    @Test func aFileIsReadWithoutItsTrailingNewlinesAndNeverEmpty() throws {
        try Data("line one\r\n\n".utf8).write(to: dir.path("crlf"))
        #expect(try SecretFile.read(dir.path("crlf").path, source: "test") == "line one")
        try Data("\n\n".utf8).write(to: dir.path("blank"))
        #expect(throws: CairnError.self) { try SecretFile.read(dir.path("blank").path, source: "test") }
        try Data(repeating: 0x61, count: SecretFile.limit + 1).write(to: dir.path("big"))
        let big = #expect(throws: CairnError.self) { try SecretFile.read(dir.path("big").path, source: "test") }
        #expect(big?.message.contains("larger than 64 KiB") == true)
        // Only secret settings take a _file form.
        let manifest = try #require(try Self.bundledSecrets.first { $0.key == "password" }?.manifest)
        let unknown = #expect(throws: CairnError.self) {
            try resolve(manifest, ["host_file": ConfigValue(.string("mounted"), .file(path: "cairn.yaml", line: 2, column: 3))], [:])
        }
        #expect(unknown?.message.contains("unknown setting 'host_file'") == true, "\(unknown?.message ?? "")")
    }
}
