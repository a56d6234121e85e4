import CairnCore
import Foundation

/// Which storage plugin an invocation uses, decided from the manifests: a store whose
/// `selects_store` setting is given by its flag or variable wins (the runbook's `--bucket` and
/// S3_BUCKET mean S3, whatever cairn.yaml says); else cairn.yaml's `storage.type`; else the
/// plugin that declares itself the `default_store`.
public struct StoreSelection: Sendable {
    public var plugin: String
    public var origin: ValueOrigin
    /// False when a flag or variable chose another store than cairn.yaml's: the file's settings
    /// belong to that other store and are dropped.
    public var keepsConfiguredSettings: Bool

    public static func choose(configured: ConfigValue?, flags: [String: ConfigValue], environment: [String: String],
                              registry: PluginRegistry) throws -> StoreSelection {
        let configuredName = configured?.value.stringValue
        for candidate in registry.candidates {
            guard let manifest = candidate.manifest, manifest.kind == .storage,
                  registry.candidate(named: manifest.name)?.manifestURL == candidate.manifestURL else { continue }
            for (_, setting) in (manifest.settings ?? [:]).sorted(by: { $0.key < $1.key }) where setting.selectsStore == true {
                let origin: ValueOrigin?
                if let flag = setting.flag, let given = flags[flag] { origin = given.origin }
                else if let variable = setting.env, environment[variable].map({ !$0.isEmpty }) == true { origin = .environment(variable) }
                else { origin = nil }
                if let origin {
                    return StoreSelection(plugin: manifest.name, origin: origin, keepsConfiguredSettings: configuredName == manifest.name)
                }
            }
        }
        if let configured, let name = configuredName {
            return StoreSelection(plugin: name, origin: configured.origin, keepsConfiguredSettings: true)
        }
        let defaults = registry.names(of: .storage).filter { registry.candidate(named: $0)?.manifest?.defaultStore == true }
        guard let name = defaults.first else {
            throw CairnError.usage("no store is configured and no storage plugin declares itself the default (\"default_store\": true in plugin.json); set storage.type in cairn.yaml (storage plugins: \(registry.names(of: .storage).joined(separator: ", ")))")
        }
        return StoreSelection(plugin: name, origin: .builtIn, keepsConfiguredSettings: true)
    }
}
