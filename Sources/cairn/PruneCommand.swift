import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete the backups the retention policy no longer keeps (--dry-run shows what would go).",
        discussion: """
        Policy in cairn.yaml, at the top level and/or per component (component rules win):
          retention: { keep_last: 7, keep_daily: 14, keep_weekly: 8, keep_monthly: 12 }
        A backup stays when any rule keeps it. Always kept: latest.tar.gz, the backup it holds, \
        and the newest verified backup. Only archives Cairn can vouch for are deleted (recorded \
        with the same size, or read back whole); foreign, truncated or damaged objects are listed \
        and left alone. An archive the store locks (S3 Object Lock) is listed as LOCKED until its \
        date and deleted by a prune after it. A component without a policy is not pruned. Stores whose plugin offers \
        a cleanup action (S3: abort_stale_uploads) also get what was left unfinished more than a day ago cleaned up.

        Exit 0 when done (also when objects were left alone), 1 when a deletion failed.
        """)

    @Argument(help: "Components (default: every configured component).")
    var components: [String] = []

    @Flag(help: "Show what would be deleted without deleting anything.")
    var dryRun = false

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let pipeline = BuiltInPipelines.command("prune", .prune(components: components, dryRun: dryRun),
                                                description: "Retention.")
        let report = try PipelineExecution.result(of: try PipelineExecution.runCommand(pipeline, workspace: workspace), as: PruneReport.self)
        if globals.json {
            try Output.json(report)
        } else {
            for component in report.components {
                Output.line("\(component.component)/\(component.environment) (\(component.policy?.description ?? "no policy")):")
                for decision in component.decisions {
                    Output.line("  \(decision.keep ? "keep  " : dryRun ? "would delete" : "delete") \(decision.backupID)\(decision.keep ? " (\(decision.reasons.joined(separator: ", ")))" : "")")
                }
                for object in component.untouched { Output.line("  LEFT ALONE \(object.key): \(object.reason)") }
                for object in component.locked { Output.line("  LOCKED \(object.key) until \(object.until) (the store refuses to delete it before)") }
                if let cleaned = component.cleanedUp { Output.line("  the store's cleanup removed \(cleaned) object(s) left for more than a day") }
                for note in component.notes { Output.line("  \(note)") }
                for error in component.errors { Output.line("  ERROR \(error)") }
            }
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }
}
