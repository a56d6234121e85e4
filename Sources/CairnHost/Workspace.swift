import Foundation
import Logging

/// A component instance resolved from the config (or implied by a plugin name) with its checked settings.
public struct ResolvedComponent: Sendable {
    public var name: String
    public var plugin: LoadedPlugin
    public var settings: PluginSettings
}

/// Configuration + plugins + state for one cairn invocation: the place commands start from.
public final class Workspace: @unchecked Sendable {
    // @unchecked: immutable after init except `runDirectory`, which is created under `lock`.
    public let config: Configuration
    public let environment: [String: String]
    public let workingDirectory: URL
    public let registry: PluginRegistry
    public let logger: Logger
    public let cancellation: Cancellation
    private var runDirectory: URL?
    private var ownsRunDirectory = true
    private let lock = NSLock()
    /// One state database connection per invocation, shared by derived workspaces: opening it
    /// checks migrations, which every step would otherwise repeat.
    private let state: SharedState

    public convenience init(config: Configuration, environment: [String: String], workingDirectory: URL,
                            logger: Logger, cancellation: Cancellation = Cancellation()) {
        self.init(config: config, environment: environment, workingDirectory: workingDirectory, logger: logger,
                  cancellation: cancellation,
                  registry: PluginRegistry(searchPath: .standard(configDirs: config.pluginDirs, environment: environment)),
                  state: SharedState())
    }

    private init(config: Configuration, environment: [String: String], workingDirectory: URL, logger: Logger,
                 cancellation: Cancellation, registry: PluginRegistry, state: SharedState) {
        self.state = state
        self.config = config
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.logger = logger
        self.cancellation = cancellation
        self.registry = registry
    }

    /// The same workspace with another logger (a run's log file) or cancellation (a step's
    /// deadline); plugins stay loaded once.
    public func derived(logger: Logger? = nil, cancellation: Cancellation? = nil) -> Workspace {
        let copy = Workspace(config: config, environment: environment, workingDirectory: workingDirectory,
                             logger: logger ?? self.logger, cancellation: cancellation ?? self.cancellation, registry: registry,
                             state: state)
        copy.runDirectory = try? temporaryDirectory()  // share scratch space; only this one removes it
        copy.ownsRunDirectory = false
        return copy
    }

    deinit {
        if ownsRunDirectory, let runDirectory { try? FileManager.default.removeItem(at: runDirectory) }
    }

    public var environmentName: String { config.environmentName }

    // MARK: Storage

    public func storageSettings() throws -> (LoadedPlugin, PluginSettings) {
        let plugin = try registry.load(config.storageType, kind: .storage)
        let settings = try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: config.storage.settings, environment: environment,
            baseDirectory: config.baseDirectory, workingDirectory: workingDirectory,
            owner: "storage '\(config.storageType)'")
        return (plugin, settings)
    }

    public func openStorage() throws -> StorageInstance {
        let (plugin, settings) = try storageSettings()
        return try StorageInstance(plugin: plugin, instanceName: plugin.name, settings: settings, logger: logger,
                                   cancellation: cancellation, tempDirectory: try temporaryDirectory().path)
    }

    /// "filesystem /var/backups/cairn" or "s3 bucket-name": for messages and reports.
    public func storeDescription() -> String {
        let settings = (try? storageSettings().1.values) ?? [:]
        let place = (settings["root"] ?? settings["bucket"]).map { PluginSettings.text($0.value) } ?? ""
        return "\(config.storageType) \(place)".trimmingCharacters(in: .whitespaces)
    }

    /// Where an object lives, for people and hooks: file:///… or s3://bucket/key.
    public func artifactURL(key: String) -> String {
        let settings = (try? storageSettings().1.values) ?? [:]
        if let root = settings["root"]?.value.stringValue { return URL(fileURLWithPath: root).appendingPathComponent(key).absoluteString }
        if let bucket = settings["bucket"]?.value.stringValue { return "s3://\(bucket)/\(key)" }
        return "\(config.storageType):\(key)"
    }

    /// Hooks given by a relative path are looked up in the config file's folder, `hooks_dirs`,
    /// the working directory, then the hooks installed next to the cairn binary.
    public func hookRunner() -> HookRunner {
        var directories = [config.baseDirectory] + config.hooksDirs.map { URL(fileURLWithPath: $0) } + [workingDirectory]
        if let bundled = PluginSearchPath.bundledDirectory() {
            directories += [bundled.appendingPathComponent("hooks"), bundled.appendingPathComponent("../share/cairn/hooks").standardizedFileURL]
        }
        return HookRunner(searchDirectories: directories)
    }

    // MARK: Components

    /// Throws the helpful "unknown component" error unless `name` is configured or names a
    /// component plugin. Reading what a store holds needs no more than this.
    public func requireComponent(_ name: String) throws {
        guard config.component(named: name) == nil, registry.candidate(named: name)?.manifest?.kind != .component else { return }
        let instances = config.components.map(\.name)
        let plugins = registry.names(of: .component)
        let hint = closest(to: name, in: instances + plugins).map { " Did you mean '\($0)'?" } ?? ""
        throw CairnError.usage("unknown component '\(name)': it is not in \(config.file ?? "the configuration (no cairn.yaml found)")"
            + " (configured: \(instances.isEmpty ? "none" : instances.joined(separator: ", ")))"
            + " and no component plugin has that name (available: \(plugins.isEmpty ? "none" : plugins.joined(separator: ", "))).\(hint)")
    }

    /// A configured instance, or (with no entry in cairn.yaml) the component plugin of that name
    /// configured from the environment alone, as the runbook's REDIS_URL-only setups expect.
    public func resolveComponent(_ name: String) throws -> ResolvedComponent {
        let configured = config.component(named: name)
        let pluginName = configured?.plugin.value.stringValue ?? name
        try requireComponent(name)
        let plugin: LoadedPlugin
        do { plugin = try registry.load(pluginName, kind: .component) } catch let error as CairnError {
            guard let configured else { throw error }
            throw CairnError(error.kind, "\(configured.plugin.origin): component '\(name)': \(error.message)")
        }
        let settings = try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: configured?.settings ?? [:], environment: environment,
            baseDirectory: config.baseDirectory, workingDirectory: workingDirectory, owner: "component '\(name)'")
        return ResolvedComponent(name: name, plugin: plugin, settings: settings)
    }

    public func openComponent(_ component: ResolvedComponent) throws -> ComponentInstance {
        let instance = try ComponentInstance(plugin: component.plugin, instanceName: component.name, settings: component.settings,
                                             logger: logger, cancellation: cancellation, tempDirectory: try temporaryDirectory().path)
        // The "cairn.store" host table (cairn_plugin.h) lends the plugin the configured store.
        instance.context.storeProvider = { [weak self] in
            guard let self else { throw CairnError.failure("the store is no longer available") }
            return try self.openStorage()
        }
        return instance
    }

    // MARK: Native actions

    /// The settings a native action of `plugin` sees: those of the configured component instance
    /// `instance` (default: the instance named like the plugin, if it uses it) or of the configured
    /// store, else environment and defaults only. Required settings may be absent, since an action
    /// runs without `open`; values that are present are still checked.
    public func actionSettings(for plugin: LoadedPlugin, instance: String? = nil) throws -> PluginSettings {
        var configured: [String: ConfigValue] = [:]
        var owner = "plugin '\(plugin.name)'"
        if let instance {
            guard let component = config.component(named: instance) else {
                let instances = config.components.map(\.name)
                throw CairnError.usage("unknown component instance '\(instance)' in \(config.file ?? "the configuration (no cairn.yaml found)") (configured: \(instances.isEmpty ? "none" : instances.joined(separator: ", ")))")
            }
            let uses = component.plugin.value.stringValue ?? component.name
            guard uses == plugin.name else {
                throw CairnError.usage("\(component.plugin.origin): component '\(instance)' uses plugin '\(uses)', not '\(plugin.name)'")
            }
            configured = component.settings
            owner = "component '\(instance)'"
        } else if plugin.manifest.kind == .component, let component = config.component(named: plugin.name),
                  (component.plugin.value.stringValue ?? component.name) == plugin.name {
            configured = component.settings
            owner = "component '\(plugin.name)'"
        } else if plugin.manifest.kind == .storage, config.storageType == plugin.name {
            configured = config.storage.settings
            owner = "storage '\(plugin.name)'"
        }
        return try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: configured, environment: environment,
            baseDirectory: config.baseDirectory, workingDirectory: workingDirectory, owner: owner, requireAll: false)
    }

    /// Calls a native action with the settings `actionSettings` gives it and this invocation's
    /// logger, cancellation and scratch space.
    public func call(_ action: NativeAction, arguments: [JSONValue]) throws -> JSONValue {
        try action.call(arguments: arguments, settings: try actionSettings(for: action.plugin), logger: logger,
                        cancellation: cancellation, temporaryDirectory: try temporaryDirectory().path)
    }

    // MARK: State and scratch space

    /// Default: beside the filesystem store (`<root>/.cairn/state.sqlite`); for remote stores,
    /// `$XDG_STATE_HOME/cairn/state.sqlite`.
    public func statePath() throws -> String {
        if let path = config.statePath { return path }
        if let root = try storageSettings().1.values["root"]?.value.stringValue {
            return URL(fileURLWithPath: root).appendingPathComponent(".cairn/state.sqlite").path
        }
        let stateHome = environment["XDG_STATE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/state")
        return stateHome.appendingPathComponent("cairn/state.sqlite").path
    }

    public func openState() throws -> StateStore {
        try state.store { try StateStore(path: try statePath()) }
    }

    /// A private folder under `staging_dir` for this invocation, removed when it ends.
    public func temporaryDirectory() throws -> URL {
        lock.lock(); defer { lock.unlock() }
        if let runDirectory { return runDirectory }
        let url = URL(fileURLWithPath: config.stagingDir)
            .appendingPathComponent("cairn-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CairnError.failure("cannot create a temporary folder in staging_dir \(config.stagingDir): \(describe(error))")
        }
        runDirectory = url
        return url
    }
}

/// The lazily opened state database of one invocation.
private final class SharedState: @unchecked Sendable {
    // @unchecked: `opened` is guarded by `lock`.
    private let lock = NSLock()
    private var opened: StateStore?

    func store(_ open: () throws -> StateStore) throws -> StateStore {
        lock.lock(); defer { lock.unlock() }
        if let opened { return opened }
        let store = try open()
        opened = store
        return store
    }
}
