import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up one component (pre-checks, backup, verification, then latest.tar.gz), or all of them with --all.",
        discussion: """
        Runs the built-in 'backup' pipeline (cairn pipelines show backup --component NAME): host \
        checks, the component's pre-checks, the storage access check, the backup streamed into \
        <component>/<environment>/<backup_id>.tar.gz, a read-back verification of every checksum, \
        then latest.tar.gz. A failed backup leaves the previous latest.tar.gz untouched and removes \
        its own partial archive. Progress goes to stderr; the run log to logs/backup/.

        --all is the runbook's emergency backup (the built-in 'emergency' pipeline): every \
        configured component at once, each in its own log (logs/backup/backup_<component>_YYYYMMDD.log), \
        one summary with each component's outcome. A component that fails (its server is down) \
        does not stop the others. Exit 0 when all succeeded, 3 when some did, 1 when none did.
        """)

    @Argument(help: "Component instance from cairn.yaml (or a component plugin name, configured from the environment).")
    var component: String?

    @Flag(help: "Back up every configured component in parallel (the 'emergency' pipeline).")
    var all = false

    @Option(help: "What to back up, for components that offer a choice (the runbook's flag; redis: rdb, aof or both). Sets the component's 'type' setting.")
    var type: String?

    @Flag(help: "Show the resolved plan and run every check (host, component, store access) without backing up or recording anything.")
    var dryRun = false

    @OptionGroup var globals: GlobalOptions

    func validate() throws {
        if all, component != nil { throw ValidationError("give a component or --all, not both") }
        if !all, component == nil { throw ValidationError("name the component to back up (see cairn.yaml), or give --all for every component") }
        if all, type != nil { throw ValidationError("--type sets one component's setting; set 'type' per component in cairn.yaml for --all") }
    }

    func run() throws {
        let configure: (inout Configuration) -> Void = { config in
            if let type, let component { config.setFlag("--type", value: .string(type), component: component) }
        }
        if dryRun {
            let workspace = try globals.workspace(configure: configure)
            let catalog = try PipelineCatalog(config: workspace.config)
            let pipeline = try catalog.resolve(component == nil ? "emergency" : "backup",
                                               parameters: component.map { ["component": $0] } ?? [:], resources: workspace)
            return try BackupDryRun(workspace: workspace, pipeline: pipeline, catalog: catalog).run(json: globals.json)
        }
        guard let component else {
            try PipelineExecution.finish(try PipelineExecution.run("emergency", component: nil, globals: globals), globals: globals)
            return
        }
        let summary = try PipelineExecution.run("backup", component: component, globals: globals, configure: configure)
        try PipelineExecution.finish(summary, globals: globals)
    }
}
