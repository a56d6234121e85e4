import CairnConfig
import CairnCore
import CairnHooks
import CairnPipeline
import CairnPluginHost
import Foundation

/// The whole configuration checked before a command does anything, so that a typo fails every
/// command alike (exit 2, no run, no incident) instead of the one that happens to use it: the
/// store's settings, every component's settings (against its plugin's manifest, then by the
/// plugin's own `open`, which reads them and contacts nothing), every pipeline of cairn.yaml, and
/// the run and component hooks it names. Nothing is contacted: the store is not opened.
extension Workspace {
    /// Every problem found, each naming where it is; empty when the configuration is good.
    /// Not `strict`, a store setting the store requires may be absent (commands that do not use
    /// the store, `cairn plugins call`, run without it; those that do refuse it when they load).
    func configProblems(strict: Bool) -> [String] {
        var problems: [String] = []
        func note(_ check: () throws -> Void) {
            do { try check() } catch let error as CairnError where error.kind == .usage {
                // A pipeline step that uses a bad store or component says so again, after its own location.
                if !problems.contains(where: { error.message.hasSuffix($0) }) { problems.append(error.message) }
            } catch {
                // Not a configuration problem (a plugin that fails to open for another reason):
                // the command meets it where it uses the plugin.
            }
        }
        note { if strict { try checkStore() } else { _ = try actionSettings(for: try storePlugin()) } }
        for component in config.components {
            note { try openComponentForCheck(component.name) }
            for spec in component.hooks.all { note { _ = try hooks.resolve(spec) } }
        }
        for name in config.plugins.keys.sorted() where registry.candidate(named: name) == nil {
            note {
                let known = (registry.names(of: .component) + registry.names(of: .storage)).sorted()
                let hint = closest(to: name, in: known).map { " Did you mean '\($0)'?" } ?? ""
                throw CairnError.usage("\(config.file ?? "the configuration"): plugins.\(name): no plugin is named '\(name)' (known: \(known.joined(separator: ", "))).\(hint)")
            }
        }
        for spec in config.hooks.all { note { _ = try hooks.resolve(spec) } }
        // An escalation hook that cannot be found or run would page no one, silently, at the
        // worst moment: that is a configuration error now, not a warning when an incident opens.
        for spec in config.escalation.hooks { note { _ = try hooks.resolve(spec) } }
        note {
            let catalog = try PipelineCatalog(config: config)
            for pipeline in config.pipelines {
                // A pipeline written for one component is checked for each configured one.
                let runs: [[String: String]] = pipeline.parameters.isEmpty ? [[:]]
                    : pipeline.parameters == ["component"] ? config.components.map { ["component": $0.name] } : []
                for parameters in runs {
                    note { _ = try catalog.checkOwnParts(pipeline.substituting(parameters), parameters: parameters, resources: self) }
                }
            }
        }
        return problems
    }

    /// Throws every problem `configProblems` finds as one usage error (exit 2).
    func requireValidConfiguration(strict: Bool = false) throws {
        let problems = configProblems(strict: strict)
        guard problems.count > 1 else {
            if let problem = problems.first { throw CairnError.usage(problem) }
            return
        }
        throw CairnError.usage("\(config.file ?? "the configuration") has \(problems.count) problems:\n"
                               + problems.map { "  \($0)" }.joined(separator: "\n"))
    }

    /// Opens and closes one instance of a configured component: the plugin reads its settings in
    /// `open` (cairn_plugin.h) and says CAIRN_INVALID for a value it cannot use, such as a
    /// REDIS_URL that is no redis:// URL (PluginInstance makes that a usage error). Other
    /// failures are left to the command.
    private func openComponentForCheck(_ name: String) throws {
        let (plugin, settings) = try resolveComponent(name)
        do {
            let instance = try PluginComponent(plugin: plugin, instanceName: name, settings: settings, logger: scope.logger,
                                               cancellation: scope.cancellation, tempDirectory: config.stagingDir,
                                               isolation: try componentIsolation(name, plugin: plugin))
            instance.close()
        } catch let error as CairnError where error.kind == .usage {
            // It names the setting's origin when the plugin names the setting; else the component's entry.
            guard settings.origin(ofSettingNamedIn: error.message) == nil, let entry = config.component(named: name) else { throw error }
            throw CairnError.usage("\(entry.origin): component '\(name)': \(error.message)")
        }
    }
}
