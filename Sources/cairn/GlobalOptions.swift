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

    @Flag(name: .long, help: "Print the result as JSON on stdout (schema: docs/json.md).")
    var json = false

    @Flag(name: [.short, .long], help: "Print only errors: no progress, no run summary (the exit code says how it went).")
    var quiet = false

    @Option(name: .long, help: "Log lines on stderr as 'text' (default) or 'json' (one object per line, for log shippers; also CAIRN_LOG_FORMAT).")
    var logFormat: String?

    @Flag(name: .long, help: "No colour in the output (also when NO_COLOR is set, or the output is not a terminal).")
    var noColor = false

    /// Sets up logging and loads the configuration; every command starts here.
    /// `configure` adjusts the loaded configuration (command-specific overrides such as --type).
    /// `strictCheck`: also refuse what only `cairn config check` reports (ConfigLint).
    func workspace(strictCheck: Bool = false, configure: (inout Configuration) -> Void = { _ in }) throws -> Workspace {
        // On a terminal the progress display shows the steps; details stay in the run log.
        let level: Logger.Level = verbose ? .debug : quiet ? .critical : (json || isatty(STDERR_FILENO) == 1 ? .warning : .info)
        Output.jsonMode = json
        Output.quiet = quiet
        Marks.colourAllowed = !noColor
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let environmentVariables = ProcessInfo.processInfo.environment
        // The runbook's store flags; each storage plugin's manifest says which setting a flag sets.
        let loaded = try ConfigLoader.load(
            explicitPath: config, environment: environmentVariables,
            overrides: .init(environment: environment, flags: ["--bucket": bucket, "--region": region]), workingDirectory: cwd)
        // The flag beats the variable, which beats logs.format in the file.
        let format = logFormat ?? environmentVariables["CAIRN_LOG_FORMAT"] ?? loaded.logFormat ?? "text"
        guard ["text", "json"].contains(format) else {
            throw CairnError.usage("--log-format (or CAIRN_LOG_FORMAT) must be 'text' or 'json', not '\(format)'")
        }
        LoggingSetup.bootstrap(level: level, json: format == "json")
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
