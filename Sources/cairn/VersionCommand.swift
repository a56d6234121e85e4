import ArgumentParser
import CairnOperations
import CairnPluginHost

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Cairn's version, the plugin ABI it speaks, and the version and ABI of every plugin it finds.",
        discussion: "For bug reports. `cairn --version` prints the version alone; `cairn plugins list --check` also loads each plugin.")

    struct Report: Encodable {
        var version: String
        var pluginABI: String
        var swiftToolchain: String
        var plugins: [PluginsCommand.PluginRow]

        enum CodingKeys: String, CodingKey {
            case version, plugins
            case pluginABI = "plugin_abi", swiftToolchain = "swift_toolchain"
        }
    }

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let report = Report(version: BackupService.toolVersion, pluginABI: "\(HostABI.major).\(HostABI.minor)",
                            swiftToolchain: HostABI.swiftToolchain, plugins: PluginsCommand.rows(workspace.registry, load: false))
        if globals.json { return try Output.json(report) }
        Output.line("cairn \(report.version) (plugin ABI \(report.pluginABI), Swift \(report.swiftToolchain))")
        Output.table(["PLUGIN", "KIND", "VERSION", "ABI", "STATUS"], report.plugins.map { [$0.name, $0.kind, $0.version, $0.abi, $0.status] })
    }
}
