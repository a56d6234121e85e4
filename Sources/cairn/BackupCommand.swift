import ArgumentParser
import CairnHost
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up one component: pre-checks, backup, verification, then latest.tar.gz.",
        discussion: """
        The archive lands at <component>/<environment>/<backup_id>.tar.gz in the store; latest.tar.gz \
        is replaced only after the new archive was read back and every checksum matched. A failed \
        backup leaves the previous latest.tar.gz untouched and removes its own partial archive.
        """)

    @Argument(help: "Component instance from cairn.yaml (or a component plugin name, configured from the environment).")
    var component: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let summary = try BackupService(workspace: workspace).run(component: component)
        if globals.json { return try Output.json(summary) }
        Output.line("backup \(summary.backupID) of \(summary.component) (\(summary.environment)) complete")
        Output.line("  stored:   \(summary.store) \(summary.key)")
        Output.line("  latest:   \(summary.latestKey)")
        let rate = summary.seconds > 0 ? Double(summary.bytes) / summary.seconds : 0
        Output.line("  files:    \(summary.files), \(Output.bytes(summary.bytes)) -> \(Output.bytes(summary.compressedBytes)) compressed")
        Output.line("  took:     \(String(format: "%.2f", summary.seconds)) s (\(Output.bytes(Int64(rate)))/s)")
        Output.checks(summary.checks)
    }
}
