import CairnConfig
import CairnCore
import CairnPluginHost

extension Workspace {
    /// How an instance of `plugin` runs: its own `isolation:` over `plugins.<name>` over the
    /// default, which `CAIRN_PLUGIN_ISOLATION` may set for every plugin (process or in-process).
    func isolation(of plugin: LoadedPlugin, instance: IsolationConfig?) throws -> PluginIsolation {
        let chosen = (instance ?? IsolationConfig()).over(config.plugins[plugin.name])
        var result = PluginIsolation.default(for: plugin)
        if let text = environment["CAIRN_PLUGIN_ISOLATION"], !text.isEmpty {
            guard let mode = PluginIsolation.Mode(rawValue: text) else {
                throw CairnError.usage("CAIRN_PLUGIN_ISOLATION must be process or in-process, got '\(text)'")
            }
            if plugin.origin != PluginLoader.linkedOrigin { result.mode = mode }
        }
        if let mode = chosen.mode.flatMap(PluginIsolation.Mode.init(rawValue:)) { result.mode = mode }
        result.memoryLimit = chosen.memoryLimit
        if let grace = chosen.cancelGrace { result.cancelGrace = grace }
        return result
    }

    func componentIsolation(_ name: String, plugin: LoadedPlugin) throws -> PluginIsolation {
        try isolation(of: plugin, instance: config.component(named: name)?.isolation)
    }
}
