import ArgumentParser
import CairnCore
import CairnPluginHost
import CairnPluginKit
import Foundation
import Logging

extension PluginsCommand {
    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the conformance suite against a component or storage plugin.",
            discussion: """
            Loads the plugin as 'cairn plugins inspect' does, opens it with its settings (--set, \
            the environment variables its plugin.json declares, its defaults) and holds it to the \
            rules every plugin of its kind must keep. Nothing outside a scratch folder is written: \
            backups go into an in-memory store.

            A component plugin: pre-checks carry names and messages; a backup streams into a store \
            and the archive reads back and verifies (the host's checks and the plugin's verify); \
            verify catches a flipped byte; a restore creates a target folder that does not exist \
            yet; a restore that cannot write fails with a message; a cancelled backup stops within \
            --cancel-bound seconds; host services are called only during a call.

            A storage plugin: the store rules Cairn relies on (atomic commit, abort leaves nothing, \
            listing, copy, remove, conditional writes, the access check), then the threading rule.

            Each case prints ok, warn, FAIL or skip with its reason. Exits 0 when nothing failed, \
            1 when a case failed, 2 when the plugin cannot be loaded or its settings are wrong.

            Examples:
              cairn plugins test ./libmydb.so --set path=/srv/data
              cairn plugins test directory --set path=/etc
              cairn plugins test filesystem --set root=/tmp/store --json
              cairn plugins test s3 --isolation process --set bucket=backups
            """)

        @Argument(help: "A plugin name, or the path of a plugin's .so, plugin.json or folder.")
        var plugin: String

        @Option(name: .customLong("set"), help: ArgumentHelp("A setting for the instance under test, as key=value (repeatable).", valueName: "key=value"))
        var settings: [String] = []

        @Option(help: "Seconds a cancelled backup may take to return.")
        var cancelBound: Double = 10

        @Option(help: ArgumentHelp("Run the plugin in a worker process (process) or inside cairn (in-process). Default: as a configured instance of it runs, in-process for the plugins shipped with Cairn, process for every other; CAIRN_PLUGIN_ISOLATION sets it too. The 'host services only during a call' case is seen in-process only.", valueName: "mode"))
        var isolation: String?

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let loaded: LoadedPlugin
            do { loaded = try PluginLoader.load(try PluginsCommand.candidate(plugin, in: workspace)) } catch {
                throw CairnError.usage("\(plugin): \(describe(error))")
            }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-plugin-test-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let resolved = try SettingsResolver.resolve(
                manifest: loaded.manifest, configured: try given(loaded.manifest), environment: ProcessInfo.processInfo.environment,
                baseDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                workingDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath), owner: "plugin '\(loaded.name)'")
            let results = PluginConformance.run(loaded, settings: resolved, scratch: scratch, logger: workspace.scope.logger,
                                                cancelBound: cancelBound, isolation: try chosenIsolation(loaded))
            let failed = results.filter { $0.status == .fail }.count
            if globals.json {
                try Output.json(Report(plugin: loaded.name, kind: loaded.manifest.kind.rawValue, version: loaded.version,
                                       ok: failed == 0, cases: results))
            } else {
                Output.line("\(loaded.name) \(loaded.version) (\(loaded.manifest.kind.rawValue) plugin, \(loaded.libraryURL.path))")
                for result in results {
                    let mark = switch result.status { case .pass: "ok  "; case .warn: "warn"; case .fail: "FAIL"; case .skip: "skip" }
                    Output.line("  \(mark)  \(result.name)\(result.detail.isEmpty ? "" : ": " + result.detail)")
                }
                let count = { (status: ConformanceResult.Status) in results.filter { $0.status == status }.count }
                Output.line("\(count(.pass)) passed, \(count(.warn)) with warnings, \(failed) failed, \(count(.skip)) skipped")
            }
            // Process-wide: a case that timed out may have left the plugin's thread running.
            if failed > 0 { throw ExitRequest(code: .failure) }
        }

        /// --isolation, else CAIRN_PLUGIN_ISOLATION, else the plugin's default.
        func chosenIsolation(_ plugin: LoadedPlugin) throws -> PluginIsolation {
            var result = PluginIsolation.default(for: plugin)
            let environment = ProcessInfo.processInfo.environment["CAIRN_PLUGIN_ISOLATION"].flatMap { $0.isEmpty ? nil : $0 }
            guard let text = isolation ?? environment else { return result }
            guard let mode = PluginIsolation.Mode(rawValue: text) else {
                throw CairnError.usage("\(isolation != nil ? "--isolation" : "CAIRN_PLUGIN_ISOLATION") must be process or in-process, got '\(text)'")
            }
            if mode == .process && plugin.origin == PluginLoader.linkedOrigin {
                throw CairnError.usage("plugin \(plugin.name) is compiled into this program and cannot run in a worker; use --isolation in-process")
            }
            result.mode = mode
            return result
        }

        /// --set key=value, read as each setting's declared type.
        func given(_ manifest: PluginManifest) throws -> [String: ConfigValue] {
            var values: [String: ConfigValue] = [:]
            for item in settings {
                guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                    throw CairnError.usage("--set \(item): expected key=value, e.g. --set path=/srv/data")
                }
                let key = String(item[..<equals]), text = String(item[item.index(after: equals)...])
                let origin = ValueOrigin.commandLine("--set \(key)")
                guard let spec = manifest.settings?[key] else {
                    values[key] = ConfigValue(.string(text), origin)  // the resolver names the unknown setting
                    continue
                }
                // A command line is seen by every user of the machine (ps, /proc) and kept in shell history.
                if spec.secret == true {
                    throw CairnError.usage("--set \(key): '\(key)' is a secret; give it through \(spec.env.map { "its variable \($0)" } ?? "cairn.yaml"), never on the command line")
                }
                values[key] = ConfigValue(try SettingsResolver.parseText(text, as: spec.type, what: "--set \(key)"), origin)
            }
            return values
        }

        struct Report: Encodable {
            var plugin, kind, version: String
            var ok: Bool
            var cases: [ConformanceResult]
        }
    }
}
