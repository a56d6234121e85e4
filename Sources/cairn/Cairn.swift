import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

@main
struct Cairn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Back up Redis, Weaviate, directories and more to S3 or a local store, and prove the backups restore.",
        discussion: """
        With no cairn.yaml, Cairn runs on embedded defaults: a filesystem store under ./cairn-backups \
        and its SQLite state in ./cairn-backups/.cairn. Config search order: --config, $CAIRN_CONFIG, \
        ./cairn.yaml, /etc/cairn/cairn.yaml. The runbook's variables (ENVIRONMENT, S3_BUCKET, AWS_REGION) \
        and the variables each plugin declares (cairn plugins inspect) override the file.

        Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 partial, 75 skipped.

        Examples:
          cairn backup configs --environment prod
          cairn list configs
          cairn verify configs --backup latest
          cairn restore configs --backup latest --target /tmp/restored
          cairn plugins list
          cairn backup --all                  (emergency: every component in parallel)
          cairn validate; cairn integrity --restore-drill; cairn status; cairn size; cairn latest
          cairn prune --dry-run
        """,
        version: BackupService.toolVersion,
        subcommands: [BackupCommand.self, CheckCommand.self, RunCommand.self, PipelinesCommand.self, VerifyCommand.self, ListCommand.self,
                      RestoreCommand.self, HistoryCommand.self, PluginsCommand.self, ConfigCommand.self,
                      ValidateCommand.self, IntegrityCommand.self, StatusCommand.self, SizeCommand.self, LatestCommand.self,
                      PruneCommand.self, IncidentsCommand.self, VersionCommand.self]
    )

    static func main() {
        StandardStreams.ignoreBrokenPipes()
        HostRuntime.initialize()
        do {
            let arguments = CommandLineArguments.normalized(Array(CommandLine.arguments.dropFirst()))
            // Known before parsing, so argument errors reach a --json reader too.
            Output.jsonMode = arguments.prefix { $0 != "--" }.contains("--json")
            let commands = configuration.subcommands.map { $0._commandName } + ["help"]
            if let problem = CommandLineArguments.unknownCommand(arguments, commands: commands) {
                Output.error(problem, exitCode: .usage)
                Foundation.exit(CairnCore.ExitCode.usage.rawValue)
            }
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as CairnError {
            Output.error(error.message, exitCode: error.exitCode)
            Foundation.exit(error.exitCode.rawValue)
        } catch let error as StateDatabaseError {
            Output.error(error.message, exitCode: .failure)
            Foundation.exit(CairnCore.ExitCode.failure.rawValue)
        } catch let error as PluginCallError {
            Output.error(error.description, exitCode: .failure)
            Foundation.exit(CairnCore.ExitCode.failure.rawValue)
        } catch let error as ExitRequest {
            Foundation.exit(error.code.rawValue)
        } catch {
            // Parse errors are usage errors (exit 2, as documented), help and --version exit 0.
            let code = exitCode(for: error)
            if code == .validationFailure {
                StandardStreams.err(fullMessage(for: error) + "\n")
                if Output.jsonMode { Output.jsonError(message(for: error), exitCode: .usage) }
                Foundation.exit(CairnCore.ExitCode.usage.rawValue)
            }
            if code == .success || code == .failure {
                exit(withError: error)
            }
            Output.error(describe(error), exitCode: .failure)
            Foundation.exit(CairnCore.ExitCode.failure.rawValue)
        }
    }
}

/// Thrown by a command that has already printed its result and only needs a non-zero exit.
struct ExitRequest: Error {
    var code: CairnCore.ExitCode
}
