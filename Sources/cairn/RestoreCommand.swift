import ArgumentParser
import CairnHost
import Foundation
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a stored backup of a component to a target.",
        discussion: "The whole archive is verified before anything is written to the target.")

    @OptionGroup var stored: StoredBackupArguments

    @Option(help: "Where to restore; for directory components a new or empty folder.")
    var target: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let summary = try RestoreService(workspace: workspace).restore(component: stored.component, selector: try stored.selector(), target: target)
        if globals.json { return try Output.json(summary) }
        Output.line("restored \(summary.backupID) to \(summary.target): \(summary.files) files, \(Output.bytes(summary.bytes))")
        Output.checks(summary.checks)
    }
}
