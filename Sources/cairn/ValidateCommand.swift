import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Daily validation: every component's newest backup exists, is young enough and has readable metadata.",
        discussion: """
        For each component (default: all configured) in the current environment, or in every \
        environment the store holds with --all-environments: the newest <backup_id>.tar.gz exists, \
        its backup_metadata.json reads as JSON of the expected shape, and it finished less than \
        max_age ago (validation.max_age or components.<name>.max_age in cairn.yaml; default 26h). \
        Objects under the prefix that are not Cairn backups are listed as a warning. The metadata is \
        the archive's last member, so the newest archive is streamed through once; its checksums \
        are the weekly integrity test's job (cairn integrity).

        Exit 0 when every component is ok (warnings included), 1 when any is missing, stale or \
        unreadable, 2 on a configuration error. A missing or stale backup opens the component's \
        backup_stale incident, unreadable metadata its corruption_detected incident (docs/escalation.md).
        """)

    @Argument(help: "Components to check (default: every configured component).")
    var components: [String] = []

    @Flag(help: "Check every environment found in the store, not only the current one.")
    var allEnvironments = false

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let pipeline = BuiltInPipelines.command("validate", .validate(components: components, allEnvironments: allEnvironments),
                                                description: "The daily validation.")
        let report = try PipelineExecution.result(of: try PipelineExecution.runCommand(pipeline, workspace: workspace), as: HealthReport.self)
        try HealthTable.print(report, json: globals.json)
    }
}
