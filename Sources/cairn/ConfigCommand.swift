import ArgumentParser
import CairnConfig
import CairnCore
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check cairn.yaml.",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole configuration without contacting anything.",
            discussion: """
            Reads the config file (--config, $CAIRN_CONFIG, ./cairn.yaml, /etc/cairn/cairn.yaml) with \
            the variables and flags that apply to it, and checks what every command checks when it \
            loads (the store's settings, every component's settings against its plugin and the \
            plugin's own reading of them, every pipeline and hook reference) plus what only this \
            command refuses: escalation hooks and the store's required settings. No store, server \
            or hook is contacted or run. Exit 0 with a one-line summary, or 2 listing every \
            problem with file:line:column.
            """)

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            // Loading the workspace is the check: it throws every problem it finds (exit 2),
            // strictly: with what other commands let pass (ConfigLint).
            let workspace = try globals.workspace(strictCheck: true)
            let config = workspace.config
            let summary = Summary(file: config.file, store: workspace.storeDescription, components: config.components.map(\.name),
                                  pipelines: config.pipelines.map(\.name))
            if globals.json { return try Output.json(summary) }
            Output.line("ok: \(config.file ?? "embedded defaults (no cairn.yaml found)"): store \(summary.store), "
                        + "\(count(summary.components.count, "component")), \(count(summary.pipelines.count, "pipeline")) of its own")
        }

        private func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

        struct Summary: Encodable {
            var ok = true
            var file: String?
            var store: String
            var components: [String]
            var pipelines: [String]
        }
    }
}
