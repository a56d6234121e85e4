import Foundation
import Testing
@testable import CairnHost

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
            try ConfigLoader.parse(text: "archive:\n  compression_level: 12\n", path: "c.yaml", baseDirectory: base)
        }
        #expect(error?.message == "c.yaml:2:22: archive.compression_level must be 1 (fastest) to 9 (smallest), got 12")
    }

    @Test func environmentVariablesAndFlagsOverrideTheFile() throws {
        var config = try ConfigLoader.parse(text: "environment: dev\n", path: "c.yaml", baseDirectory: base)
        ConfigLoader.applyEnvironment(["ENVIRONMENT": "staging", "S3_BUCKET": "b1", "AWS_REGION": "eu-west-1"], to: &config)
        #expect(config.environmentName == "staging")
        #expect(config.storageType == "s3")
        #expect(config.storage.settings["bucket"]?.origin == .environment("S3_BUCKET"))
        ConfigLoader.apply(.init(environment: "prod", bucket: "b2"), to: &config)
        #expect(config.environmentName == "prod")
        #expect(config.storage.settings["bucket"]?.value == .string("b2"))
        #expect(config.storage.settings["region"]?.value == .string("eu-west-1"))
    }

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
    }

    @Test func backupIDsFollowTheLayout() {
        let id = BackupID.make(component: "Redis-Main", date: Date(timeIntervalSince1970: 1_795_719_662))
        #expect(id == "redis_main_20261126_190102")
        #expect(BackupID.isValid(id))
        let layout = StorageLayout(component: "redis", environment: "prod")
        #expect(layout.archiveKey("redis_20261126_190102") == "redis/prod/redis_20261126_190102.tar.gz")
        #expect(layout.backupID(fromKey: "redis/prod/latest.tar.gz") == nil)
        #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar.gz") == "redis_20261126_190102")
    }
}
