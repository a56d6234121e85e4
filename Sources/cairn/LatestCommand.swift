import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct LatestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latest",
        abstract: "The latest backup of every component: id, time, size, age and whether it was verified.",
        discussion: """
        Names the backup latest.tar.gz holds (where the runbook's `head-object ... LastModified` \
        gave only a time). VERIFIED comes from the state database: '-' means this machine has no \
        record of the backup; cairn verify or cairn integrity checks it now.
        """)

    @Argument(help: "Components (default: every configured component).")
    var components: [String] = []

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let report = try ReportService(store: try workspace.openStore(workspace.scope), environment: workspace.environmentName)
            .latest(components: try workspace.componentNames(components), state: try? workspace.openState())
        if globals.json { return try Output.json(report) }
        let formatter = ISO8601DateFormatter()
        Output.table(["COMPONENT", "BACKUP ID", "CREATED (UTC)", "SIZE", "AGE", "VERIFIED"], report.rows.map {
            [$0.component, $0.backupID ?? "-", $0.createdAt.map { formatter.string(from: $0) } ?? "-",
             $0.bytes.map { Output.bytes($0) } ?? "-", $0.ageSeconds.map(formatAge) ?? "-", $0.verified.map { $0 ? "yes" : "no" } ?? "-"]
        })
        for row in report.rows { if let note = row.note { Output.line("\(row.component): \(note)") } }
    }
}
