import CairnCore
import CairnInterfaces
import CairnPluginHost
import Foundation
import Logging

/// `cairn plugins test`: the conformance suite for one plugin, chosen by its kind.
public enum PluginConformance {
    /// `isolation` nil: the plugin's default, as a configured instance of it would run.
    public static func run(_ plugin: LoadedPlugin, settings: PluginSettings, scratch: URL, logger: Logger,
                           cancelBound: Double = 10, isolation: PluginIsolation? = nil) -> [ConformanceResult] {
        switch plugin.manifest.kind {
        case .component:
            var suite = ComponentConformance(plugin: plugin, settings: settings, scratch: scratch, logger: logger)
            suite.cancelBound = cancelBound
            suite.isolation = isolation
            return suite.run()
        case .storage:
            return store(plugin, settings: settings, scratch: scratch, logger: logger, isolation: isolation)
        }
    }

    /// The store rules (StoreConformance), then the threading rule.
    static func store(_ plugin: LoadedPlugin, settings: PluginSettings, scratch: URL, logger: Logger,
                      isolation: PluginIsolation?) -> [ConformanceResult] {
        let store: PluginStore
        do {
            store = try PluginStore(plugin: plugin, instanceName: plugin.name, settings: settings, logger: logger,
                                    cancellation: Cancellation(), tempDirectory: scratch.path, isolation: isolation)
        } catch {
            return [ConformanceResult("opens with the given settings", .fail, describe(error))]
        }
        defer { store.close() }
        var results = [ConformanceResult("opens with the given settings", .pass)]
        for item in StoreConformance.cases {
            do {
                try item.run(on: store)
                results.append(ConformanceResult(item.name, .pass))
            } catch let skipped as StoreConformance.Skipped {
                results.append(ConformanceResult(item.name, .skip, skipped.reason))
            } catch let failure as ConformanceFailure {
                results.append(ConformanceResult(item.name, .fail, failure.reason))
            } catch let error as StoreError {
                let silent = error.message == PluginCallError.noReason
                results.append(ConformanceResult(item.name, .fail, silent ? "\(error.operation) failed without a message: call err->set before returning an error" : error.description))
            } catch {
                results.append(ConformanceResult(item.name, .fail, describe(error)))
            }
        }
        Thread.sleep(forTimeInterval: 0.3)
        let strays = store.strayServiceCalls
        if strays.isEmpty && store.isolation.mode == .process {
            // A stray call waits in the worker until the next call: only an instance inside cairn shows one.
            results.append(ConformanceResult("host services only during a call", .skip,
                                             "not seen from a worker process; run with --isolation in-process to check it"))
            return results
        }
        results.append(strays.isEmpty ? ConformanceResult("host services only during a call", .pass)
            : ConformanceResult("host services only during a call", .fail,
                                "\(strays.count) call(s) of \(Array(Set(strays)).sorted().joined(separator: ", ")) while no call, writer or reader was open: join the plugin's threads (cairn_plugin.h, THREADING)"))
        return results
    }
}
