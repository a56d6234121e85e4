import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct SizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "size",
        abstract: "Bytes in the store, in total and per component and environment.",
        discussion: """
        Counts every object under <component>/<environment>/: archives, latest.tar.gz (a full \
        copy of one archive) and anything else stored there. Replaces the runbook's \
        `aws s3api list-objects-v2 ... --query 'sum(Contents[].Size)'`, which covered one prefix \
        and printed "None" for an empty one.
        """)

    @Argument(help: "Components (default: every configured component).")
    var components: [String] = []

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let report = try ReportService(store: try workspace.openStore(workspace.scope), environment: workspace.environmentName)
            .size(components: try workspace.componentNames(components))
        if globals.json { return try Output.json(report) }
        Output.table(["COMPONENT", "ENVIRONMENT", "ARCHIVES", "SIZE", "OF WHICH LATEST"], report.rows.map {
            [$0.component, $0.environment, String($0.archives), Output.bytes($0.bytes), Output.bytes($0.latestBytes)]
        })
        Output.line("total: \(Output.bytes(report.totalBytes)) in \(workspace.storeDescription)")
    }
}
