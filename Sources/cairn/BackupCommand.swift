import ArgumentParser
import CairnHost
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up one component: pre-checks, backup, verification, then latest.tar.gz.",
        discussion: """
        Runs the built-in 'backup' pipeline (cairn pipelines show backup --component NAME): host \
        checks, the component's pre-checks, the storage access check, the backup streamed into \
        <component>/<environment>/<backup_id>.tar.gz, a read-back verification of every checksum, \
        then latest.tar.gz. A failed backup leaves the previous latest.tar.gz untouched and removes \
        its own partial archive. Progress goes to stderr; the run log to logs/backup/.
        """)

    @Argument(help: "Component instance from cairn.yaml (or a component plugin name, configured from the environment).")
    var component: String

    @Option(help: "What to back up, for components that offer a choice (the runbook's flag; redis: rdb, aof or both). Sets the component's 'type' setting.")
    var type: String?

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let summary = try PipelineExecution.run("backup", component: component, globals: globals) { config in
            if let type { config.override(component: component, setting: "type", value: .string(type), flag: "--type") }
        }
        try PipelineExecution.finish(summary, globals: globals)
    }
}
