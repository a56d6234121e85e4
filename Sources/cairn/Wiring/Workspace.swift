import CairnAge
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation
import Logging

/// One cairn invocation wired together: the configuration, the plugins on the search path and
/// this process's environment, offered to the engine as `RunResources`. The only place that
/// knows both the plugin host and the engine.
final class Workspace: RunResources, @unchecked Sendable {
    // @unchecked: immutable after init except the lazily made scratch folder, state and store
    // choice, each guarded by `lock`.
    let config: Configuration
    let environment: [String: String]
    let workingDirectory: URL
    let registry: PluginRegistry
    /// The invocation's logger (stderr) and cancellation (Ctrl-C).
    let scope: RunScope
    let hooks: HookRunner
    private let lock = NSLock()
    private var runDirectory: URL?
    private var state: StateStore?
    /// The state's copy in the store (StateMirror), once the state is open; nil when it cannot be had.
    private var mirror: StateMirror?
    private var mirrorTried = false
    /// The store choice and its checked settings: asked for by every step, hook and record line,
    /// and fixed for the invocation (configuration and environment do not change).
    private var selection: Result<StoreSelection, any Error>?
    private var storage: Result<(plugin: LoadedPlugin, settings: PluginSettings), any Error>?
    /// File keys of the archives this invocation encrypted, for their read-back (AgeStore).
    private let writtenKeys = AgeWrittenKeys()

    init(config: Configuration, environment: [String: String], workingDirectory: URL, scope: RunScope) {
        self.config = config
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.scope = scope
        registry = PluginRegistry(searchPath: .standard(configDirs: config.pluginDirs, environment: environment))
        // Hooks given by a relative path are looked up in the config file's folder, `hooks_dirs`,
        // the working directory, then the hooks installed next to the cairn binary.
        var directories = [config.baseDirectory] + config.hooksDirs.map { URL(fileURLWithPath: $0) } + [workingDirectory]
        if let bundled = PluginSearchPath.bundledDirectory() {
            directories += [bundled.appendingPathComponent("hooks"), bundled.appendingPathComponent("../share/cairn/hooks").standardizedFileURL]
        }
        hooks = HookRunner(searchDirectories: directories)
    }

    deinit {
        if let runDirectory { try? FileManager.default.removeItem(at: runDirectory) }
    }

    var environmentName: String { config.environmentName }

    // MARK: Storage

    /// Which store plugin this invocation uses (StoreSelection), worked out once.
    private func storeSelection() throws -> StoreSelection {
        lock.lock(); defer { lock.unlock() }
        if selection == nil {
            selection = Result { try StoreSelection.choose(configured: config.storage.type, flags: config.flags,
                                                           environment: environment, registry: registry) }
        }
        return try selection!.get()
    }

    /// The storage plugin and its checked settings, worked out once: every step, hook and record
    /// line asks, and configuration and environment do not change during an invocation.
    func storageSettings() throws -> (LoadedPlugin, PluginSettings) {
        let selection = try storeSelection()
        lock.lock(); defer { lock.unlock() }
        if storage == nil {
            storage = Result {
                let plugin = try storePlugin(selection)
                let settings = try SettingsResolver.resolve(
                    manifest: plugin.manifest, configured: selection.keepsConfiguredSettings ? config.storage.settings : [:],
                    flags: config.flags, environment: environment, baseDirectory: config.baseDirectory,
                    workingDirectory: workingDirectory, owner: "storage '\(plugin.name)'",
                    entry: selection.keepsConfiguredSettings ? config.storage.type?.origin : nil)
                return (plugin, settings)
            }
        }
        return try storage!.get()
    }

    func checkStore() throws { _ = try storageSettings() }

    /// The chosen storage plugin, loaded; errors name where the choice came from.
    func storePlugin(_ selection: StoreSelection? = nil) throws -> LoadedPlugin {
        let selection = try selection ?? storeSelection()
        do { return try registry.load(selection.plugin, kind: .storage) } catch let error as CairnError {
            guard selection.origin != .builtIn else { throw error }
            throw CairnError(error.kind, "\(selection.origin): storage '\(selection.plugin)': \(error.message)")
        }
    }

    func openStore(_ scope: RunScope) throws -> any ObjectStore {
        let (plugin, settings) = try storageSettings()
        let store = try PluginStore(plugin: plugin, instanceName: plugin.name, settings: settings, logger: scope.logger,
                                    cancellation: scope.cancellation, tempDirectory: try temporaryDirectory().path,
                                    isolation: try isolation(of: plugin, instance: config.storage.isolation))
        // Always wrapped: without encryption configured, an encrypted archive still gets the
        // error that says which key is missing, not a gzip error.
        return AgeStore(base: store, keys: EncryptionKeys.source(config.encryption, environment: environment, written: writtenKeys))
    }

    /// "filesystem /var/backups/cairn" or "s3 bucket-name": the plugin's `location`.
    var storeDescription: String {
        guard let (plugin, settings) = try? storageSettings() else { return config.storage.type?.value.stringValue ?? "store" }
        let place = plugin.manifest.location.flatMap { plugin.manifest.render($0, settings: settings) } ?? ""
        return "\(plugin.name) \(place)".trimmingCharacters(in: .whitespaces)
    }

    /// Where an object lives, for people and hooks: the plugin's `object_url`.
    func artifactURL(key: String) -> String {
        guard let (plugin, settings) = try? storageSettings() else { return key }
        guard let url = plugin.manifest.objectURL.flatMap({ plugin.manifest.render($0, settings: settings, key: key) }) else {
            return "\(plugin.name):\(key)"
        }
        // A file URL of a local path is written the way Foundation escapes it.
        if url.hasPrefix("file://") { return URL(fileURLWithPath: String(url.dropFirst(7))).absoluteString }
        return url
    }

    /// The store's local folder (plugin.json `local_root`), if it keeps objects on this machine.
    var storeLocalPaths: [String] {
        guard let (plugin, settings) = try? storageSettings(), let setting = plugin.manifest.localRoot,
              let root = settings.values[setting]?.value.stringValue else { return [] }
        return [root]
    }

    func storeCleanup(_ scope: RunScope) throws -> PruneService.StoreCleanup? {
        let (plugin, _) = try storageSettings()
        guard let (name, _) = (plugin.manifest.actions ?? [:]).sorted(by: { $0.key < $1.key }).first(where: { $0.value.prune == true }) else {
            return nil
        }
        let action = try NativeAction(plugin: plugin, name: name)
        return PruneService.StoreCleanup(name: action.qualifiedName) { prefix, age in
            try self.call(action, arguments: [.string(prefix), .number(Double(age))], scope)
        }
    }

    // MARK: Components

    /// Throws the helpful "unknown component" error unless `name` is configured or names a
    /// component plugin. Reading what a store holds needs no more than this.
    func requireComponent(_ name: String) throws {
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
    func resolveComponent(_ name: String) throws -> (plugin: LoadedPlugin, settings: PluginSettings) {
        let configured = config.component(named: name)
        let pluginName = configured?.plugin.value.stringValue ?? name
        try requireComponent(name)
        let plugin: LoadedPlugin
        do { plugin = try registry.load(pluginName, kind: .component) } catch let error as CairnError {
            guard let configured else { throw error }
            throw CairnError(error.kind, "\(configured.plugin.origin): component '\(name)': \(error.message)")
        }
        let settings = try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: configured?.settings ?? [:], flags: configured?.flags ?? [:],
            environment: environment, baseDirectory: config.baseDirectory, workingDirectory: workingDirectory,
            owner: "component '\(name)'", entry: configured?.origin)
        return (plugin, settings)
    }

    func checkComponent(_ name: String) throws { _ = try resolveComponent(name) }

    func traits(ofComponent name: String) throws -> ComponentTraits {
        let (plugin, _) = try resolveComponent(name)
        return PluginComponent.traits(of: plugin)
    }

    func openComponent(_ name: String, _ scope: RunScope) throws -> any ComponentSource {
        let (plugin, settings) = try resolveComponent(name)
        let instance = try PluginComponent(plugin: plugin, instanceName: name, settings: settings, logger: scope.logger,
                                           cancellation: scope.cancellation, tempDirectory: try temporaryDirectory().path,
                                           isolation: try componentIsolation(name, plugin: plugin))
        // The "cairn.store" host table (cairn_plugin.h) lends the plugin the configured store.
        instance.storeProvider = { [weak self] in
            guard let self else { throw CairnError.failure("the store is no longer available") }
            return try self.openStore(scope)
        }
        return instance
    }

    /// The components a command covers: those named (each must be known), else every configured one.
    func componentNames(_ named: [String]) throws -> [String] {
        if !named.isEmpty {
            for name in named { try requireComponent(name) }
            return named
        }
        let configured = config.components.map(\.name)
        guard !configured.isEmpty else {
            throw CairnError.usage("no components are configured in \(config.file ?? "the configuration (no cairn.yaml found)"); name them on the command line (e.g. redis) or add them under 'components:'")
        }
        return configured
    }

    // MARK: Native actions

    func checkAction(plugin: String, action: String, arguments: [JSONValue]) throws -> [JSONValue] {
        let native = try NativeAction(plugin: try registry.load(plugin), name: action)
        if arguments.count == 1, case .object(let named) = arguments[0] { return try native.check(named: named) }
        return try native.check(positional: arguments)
    }

    func callAction(plugin: String, action: String, arguments: [JSONValue], _ scope: RunScope) throws -> JSONValue {
        try call(NativeAction(plugin: try registry.load(plugin), name: action), arguments: arguments, scope)
    }

    /// The settings a native action of `plugin` sees: those of the configured component instance
    /// `instance` (default: the instance named like the plugin, if it uses it) or of the configured
    /// store, else environment and defaults only. Required settings may be absent, since an action
    /// runs without `open`; values that are present are still checked.
    func actionSettings(for plugin: LoadedPlugin, instance: String? = nil) throws -> PluginSettings {
        var configured: [String: ConfigValue] = [:]
        var flags: [String: ConfigValue] = [:]
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
            flags = component.flags
            owner = "component '\(instance)'"
        } else if plugin.manifest.kind == .component, let component = config.component(named: plugin.name),
                  (component.plugin.value.stringValue ?? component.name) == plugin.name {
            configured = component.settings
            flags = component.flags
            owner = "component '\(plugin.name)'"
        } else if plugin.manifest.kind == .storage, let selection = try? storeSelection(), selection.plugin == plugin.name {
            configured = selection.keepsConfiguredSettings ? config.storage.settings : [:]
            flags = config.flags
            owner = "storage '\(plugin.name)'"
        }
        return try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: configured, flags: flags, environment: environment,
            baseDirectory: config.baseDirectory, workingDirectory: workingDirectory, owner: owner, requireAll: false)
    }

    /// Calls a native action with the settings `actionSettings` gives it, `scope`'s logger and
    /// cancellation, and this invocation's scratch space.
    func call(_ action: NativeAction, arguments: [JSONValue], _ scope: RunScope) throws -> JSONValue {
        try action.call(arguments: arguments, settings: try actionSettings(for: action.plugin), logger: scope.logger,
                        cancellation: scope.cancellation, temporaryDirectory: try temporaryDirectory().path,
                        isolation: try isolation(of: action.plugin, instance: nil))
    }

    // MARK: State and scratch space

    /// Default: beside a local store (`<local_root>/.cairn/state.sqlite`); for remote stores,
    /// `$XDG_STATE_HOME/cairn/state.sqlite`.
    func statePath() throws -> String {
        if let path = config.statePath { return path }
        if let root = storeLocalPaths.first {
            return URL(fileURLWithPath: root).appendingPathComponent(".cairn/state.sqlite").path
        }
        _ = try storageSettings()  // a store that cannot be configured is the error to report
        let stateHome = environment["XDG_STATE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/state")
        return stateHome.appendingPathComponent("cairn/state.sqlite").path
    }

    func openState() throws -> StateStore {
        let path = try statePath()
        let opened: StateStore = try lock.withLock {
            if let state { return state }
            let made = try StateStore(path: path)
            state = made
            return made
        }
        let first = lock.withLock { () -> Bool in defer { mirrorTried = true }; return !mirrorTried }
        guard first else { return opened }
        // What other hosts and earlier pods recorded, before this command reads or adds to it.
        // Outside the lock: opening the store takes it too.
        do {
            let shared = StateMirror(store: try openStore(scope), environment: environmentName, logger: scope.logger)
            try shared.pull(into: opened)
            lock.withLock { mirror = shared }
        } catch {
            scope.logger.warning("shared state in the store not read: \(describe(error)); using this machine's history only")
        }
        return opened
    }

    /// Shares what this command recorded (runs, failure streaks, incidents) through the store.
    func shareState() {
        let (shared, opened) = lock.withLock { (mirror, state) }
        guard let shared, let opened else { return }
        do { try shared.push(from: opened) } catch {
            scope.logger.warning("shared state in the store not written: \(describe(error)); other hosts see this run's history later")
        }
    }

    /// A private folder under `staging_dir` for this invocation, removed when it ends. Those that
    /// killed invocations left are removed first.
    func temporaryDirectory() throws -> URL {
        lock.lock(); defer { lock.unlock() }
        if let runDirectory { return runDirectory }
        let staging = URL(fileURLWithPath: config.stagingDir)
        for folder in StagingSweep.removeDeadFolders(in: staging) {
            scope.logger.info("removed \(folder.path), the scratch folder of a cairn process that is gone")
        }
        let url = staging.appendingPathComponent(StagingSweep.folderName(pid: LocalProcess.pid))
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
