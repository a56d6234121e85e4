import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct IntegrityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integrity",
        abstract: "Weekly integrity test: read every component's latest.tar.gz back and check it completely.",
        discussion: """
        For each component (default: all configured): latest.tar.gz is downloaded as a stream and \
        checked for archive structure, every file's size and SHA-256 against backup_metadata.json, \
        and the component's own validation (Redis: RDB CRC and AOF manifest; directory: the tree). \
        The runbook's `tar -tzf` only proved that the archive could be listed.

        --restore-drill also restores latest into a throwaway local server for plugins that offer a \
        drill (redis: a redis-server on 127.0.0.1 that loads the backup) and compares its key counts \
        per database with the source facts in backup_metadata.json.

        Exit 0 when every component passed, 1 when any backup is missing, corrupt or failed its drill. \
        A corrupt backup opens the component's corruption_detected incident; a clean pass resolves \
        it (docs/escalation.md).
        """)

    @Argument(help: "Components to test (default: every configured component).")
    var components: [String] = []

    @Flag(help: "Also restore each backup into a throwaway server and compare key counts (plugins with a drill).")
    var restoreDrill = false

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let pipeline = BuiltInPipelines.command("integrity", .integrity(components: components, restoreDrill: restoreDrill),
                                                description: "The weekly integrity test.")
        let report = try PipelineExecution.result(of: try PipelineExecution.runCommand(pipeline, workspace: workspace), as: HealthReport.self)
        try HealthTable.print(report, json: globals.json)
    }
}
