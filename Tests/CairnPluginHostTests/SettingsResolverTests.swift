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
