import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation
import Logging

/// Options every command takes; the runbook's flags keep their names.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $CAIRN_CONFIG, ./cairn.yaml, /etc/cairn/cairn.yaml, else embedded defaults).")
    var config: String?

    @Option(name: .long, help: "Environment name used in storage keys, e.g. prod (overrides ENVIRONMENT).")
    var environment: String?

    @Option(name: .long, help: "S3 bucket: selects the S3 store (beats S3_BUCKET and cairn.yaml).")
    var bucket: String?

    @Option(name: .long, help: "AWS region for S3 (beats AWS_REGION and cairn.yaml).")
    var region: String?

    @Flag(name: [.short, .long], help: "Log debug details to stderr.")
    var verbose = false

    @Flag(name: .long, help: "Print the result as JSON on stdout.")
    var json = false

    /// Sets up logging and loads the configuration; every command starts here.
    /// `configure` adjusts the loaded configuration (command-specific overrides such as --type).
    /// `strictCheck`: also refuse what only `cairn config check` reports (ConfigLint).
    func workspace(strictCheck: Bool = false, configure: (inout Configuration) -> Void = { _ in }) throws -> Workspace {
        // On a terminal the progress display shows the steps; details stay in the run log.
        let level: Logger.Level = verbose ? .debug : (json || isatty(STDERR_FILENO) == 1 ? .warning : .info)
        Output.jsonMode = json
        LoggingSetup.bootstrap(level: level)
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let environmentVariables = ProcessInfo.processInfo.environment
        // The runbook's store flags; each storage plugin's manifest says which setting a flag sets.
        let loaded = try ConfigLoader.load(
            explicitPath: config, environment: environmentVariables,
            overrides: .init(environment: environment, flags: ["--bucket": bucket, "--region": region]), workingDirectory: cwd)
        var configuration = loaded
        configure(&configuration)
        let cancellation = Cancellation()
        SignalHandling.cancelOnInterrupt(cancellation)
        let workspace = Workspace(config: configuration, environment: environmentVariables, workingDirectory: cwd,
                                  scope: RunScope(logger: Logger(label: "cairn"), cancellation: cancellation))
        // The whole file, whatever the command uses of it: a typo is exit 2 everywhere, never an incident.
        try workspace.requireValidConfiguration(strict: strictCheck)
        return workspace
    }
}
