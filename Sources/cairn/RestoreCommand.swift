import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a stored backup of a component to a target, or run a disaster-recovery drill.",
        discussion: """
        The whole archive is verified before anything is written to the target. Examples:
          cairn restore configs --backup latest --target /srv/restore
          cairn restore redis --backup latest --target /var/lib/redis-restore   (for a stopped server)
          cairn restore redis --drill     (throwaway local redis-server: keys per db and DEBUG DIGEST)
          cairn restore weaviate --backup latest   (back into the configured Weaviate; no --target)
        """)

    @OptionGroup var stored: StoredBackupArguments

    @Option(help: "Where to restore: a new or empty folder for directory and redis components. Components that restore into their own server (weaviate) take none.")
    var target: String?

    @Flag(help: "Restore into a throwaway server and report what it holds, for plugins that support drills (redis).")
    var drill = false

    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        // A target is always a folder, whatever its name; a drill writes into no target.
        if drill, target != nil { throw ValidationError("give --target DIR or --drill, not both: a drill loads the backup into a throwaway server") }
    }

    func run() throws {
        let workspace = try globals.workspace()
        _ = try stored.selector()
        let pipeline = BuiltInPipelines.command(
            "restore", .restore(component: stored.component, backup: stored.backup, target: target ?? "", drill: drill),
            description: "Restore a stored backup, verified whole first.")
        let summary = try PipelineExecution.result(of: try PipelineExecution.runCommand(pipeline, component: stored.component, workspace: workspace), as: RestoreSummary.self)
        if globals.json { return try Output.json(summary) }
        Output.line(drill ? "DR drill of \(summary.backupID) (\(summary.files) files, \(Output.bytes(summary.bytes))):"
                    : "restored \(summary.backupID) to \(summary.target.isEmpty ? stored.component : summary.target): \(summary.files) files, \(Output.bytes(summary.bytes))")
        Output.checks(summary.checks)
    }
}
