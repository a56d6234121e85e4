import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Today's backups (UTC) of every component, with their outcome.",
        discussion: """
        Combines the state database (every attempt this machine made, failed ones included) with \
        the store (backups made elsewhere show as 'stored'). A component is ok when its last \
        attempt today succeeded, failed when it failed, none when nothing ran today. Replaces the \
        runbook's `aws s3 ls --recursive | grep $(date +%Y%m%d)`, which missed failures and matched \
        the date anywhere in a key.
        """)

    @Argument(help: "Components (default: every configured component).")
    var components: [String] = []

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let report = try ReportService(store: try workspace.openStore(workspace.scope), environment: workspace.environmentName)
            .status(components: try workspace.componentNames(components), state: try workspace.openState())
        if globals.json { return try Output.json(report) }
        Output.line("backups of \(report.day) (UTC) in \(report.environment):")
        var rows: [[String]] = []
        for component in report.components {
            var attempts = component.failedRuns.map { ["(\($0.runID))", "failed: \($0.step)", "-", "-"] }
            attempts += component.backups.map {
                [$0.backupID, $0.outcome, $0.verified.map { $0 ? "yes" : "no" } ?? "-", $0.bytes.map { Output.bytes($0) } ?? "-"]
            }
            if attempts.isEmpty { attempts = [["-", "-", "-", "-"]] }
            // The component and its day's roll-up once, on its first row; the rows below are its attempts.
            for (index, attempt) in attempts.enumerated() {
                rows.append((index == 0 ? [component.component, component.outcome] : ["", ""]) + attempt)
            }
        }
        Output.table(["COMPONENT", "TODAY", "BACKUP ID", "OUTCOME", "VERIFIED", "SIZE"], rows)
        for component in report.components {
            for backup in component.backups where backup.error != nil {
                Output.line("\(backup.backupID): \(backup.error!)")
            }
            for run in component.failedRuns { Output.line("\(run.runID) (\(run.pipeline)) \(run.step): \(run.error ?? "failed")") }
        }
    }
}
