import Foundation
import Testing
import CairnArchive
@testable import CairnCore
@testable import CairnHooks
@testable import CairnOperations
@testable import CairnConfig
import CairnTestSupport

@Suite("Configuration")
struct ConfigTests {
    let base = URL(fileURLWithPath: "/etc/cairn")

    @Test func parsesTheDesignShape() throws {
        let config = try ConfigLoader.parse(text: """
            environment: prod
            storage:
              type: filesystem
              root: backups
            components:
              configs: { plugin: directory, path: /etc/gremlinsai }
              redis: { url: "redis://localhost:6379" }
            plugin_dirs: [/usr/local/lib/cairn/plugins]
            archive: { compression_level: 1 }
            """, path: "cairn.yaml", baseDirectory: base)
        #expect(config.environmentName == "prod")
        #expect(config.storage.settings["root"]?.value == .string("backups"))
        #expect(config.component(named: "configs")?.plugin.value == .string("directory"))
        #expect(config.component(named: "redis")?.plugin.value == .string("redis"))
        #expect(config.pluginDirs == ["/usr/local/lib/cairn/plugins"])
        #expect(config.compressionLevel == 1)
    }

    @Test func unknownKeyNamesFileLineAndKey() {
        let error = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "environment: dev\nstorge:\n  type: s3\n", path: "cairn.yaml", baseDirectory: base)
        }
        #expect(error?.message.hasPrefix("cairn.yaml:2:1: unknown key 'storge' in the top level") == true)
        #expect(error?.message.contains("did you mean 'storage'?") == true)
        #expect(error?.exitCode == .usage)
    }

    @Test func notYAMLIsReportedWithPosition() {
        let error = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "environment: [dev\ncomponents: {", path: "/tmp/cairn.yaml", baseDirectory: base)
        }
        #expect(error?.message.contains("config file /tmp/cairn.yaml is not valid YAML: /tmp/cairn.yaml:") == true)
    }

    @Test func wrongTypesAreNamed() {
        let error = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "archive:\n  compression_level: 13\n", path: "c.yaml", baseDirectory: base)
        }
        #expect(error?.message == "c.yaml:2:22: compression level 13 is outside 1...12 for gzip: "
                + "gzip (libdeflate) takes 1 (fastest) to 12 (smallest, much slower); 5, the default, is already smaller than gzip -6")
        // The range is the format's, whichever key comes first.
        let zstd = try? ConfigLoader.parse(text: "compression:\n  level: 19\n  format: zstd\n", path: "c.yaml", baseDirectory: base)
        #expect(zstd?.compressionLevel == 19 && zstd?.compressionFormat == .zstd)
        let tooHigh = #expect(throws: CairnError.self) {
            try ConfigLoader.parse(text: "compression:\n  level: 19\n", path: "c.yaml", baseDirectory: base)
        }
        #expect(tooHigh?.message.hasPrefix("c.yaml:2:10: compression level 19 is outside 1...12 for gzip") == true, "\(tooHigh?.message ?? "")")
    }

    @Test func environmentVariablesAndFlagsOverrideTheFile() throws {
        let dir = try TemporaryDirectory("cairn-config")
        try "environment: dev\nstorage: { type: filesystem, root: /srv }\n".write(to: dir.path("cairn.yaml"), atomically: true, encoding: .utf8)
        let fromVariable = try ConfigLoader.load(explicitPath: nil, environment: ["ENVIRONMENT": "staging"], overrides: .init(),
                                                 workingDirectory: dir.url)
        #expect(fromVariable.environmentName == "staging")
        #expect(fromVariable.environment.origin == .environment("ENVIRONMENT"))
        let fromFlags = try ConfigLoader.load(explicitPath: nil, environment: ["ENVIRONMENT": "staging"],
                                              overrides: .init(environment: "prod", flags: ["--bucket": "b2", "--region": nil]),
                                              workingDirectory: dir.url)
        #expect(fromFlags.environmentName == "prod")
        // Store flags are kept by flag; the store plugin's manifest says which setting each one sets.
        #expect(fromFlags.flags["--bucket"]?.value == .string("b2"))
        #expect(fromFlags.flags["--bucket"]?.origin == .commandLine("--bucket"))
        #expect(fromFlags.flags["--region"] == nil)
        #expect(fromFlags.storage.settings["root"]?.value == .string("/srv"))
    }


    /// An environment is a folder of every storage key: names that climb out ("../x"), nest ("a/b")
    /// or are empty are refused with where they came from.
    @Test(arguments: ["../../x", "a/b", "", "Prod", "-x"])
    func environmentNamesThatAreNotNamesAreRefused(_ name: String) throws {
        let dir = try TemporaryDirectory("cairn-config")
        let fromFlag = #expect(throws: CairnError.self) {
            try ConfigLoader.load(explicitPath: nil, environment: [:], overrides: .init(environment: name), workingDirectory: dir.url)
        }
        #expect(fromFlag?.kind == .usage)
        #expect(fromFlag?.message == "command-line option --environment: environment '\(name)' must be lowercase letters, digits, '-' or '_', starting with a letter (it becomes a folder of every storage key)")
        if !name.isEmpty {  // an empty ENVIRONMENT counts as unset
            let fromVariable = #expect(throws: CairnError.self) {
                try ConfigLoader.load(explicitPath: nil, environment: ["ENVIRONMENT": name], overrides: .init(), workingDirectory: dir.url)
            }
            #expect(fromVariable?.message.hasPrefix("environment variable ENVIRONMENT: environment") == true)
        }
    }
}
