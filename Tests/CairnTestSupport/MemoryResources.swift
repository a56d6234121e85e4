import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnState
import Foundation

/// What the engine needs, in memory: a MemoryStore, scripted components, a state database in a
/// temporary folder. The twin of the command line's plugin-backed wiring, for engine tests.
public final class MemoryResources: RunResources, @unchecked Sendable {
    public var config: Configuration
    public let store: MemoryStore
    public var components: [String: ScriptedComponent]
    public let directory: TemporaryDirectory
    public let hooks: HookRunner
    private var state: StateStore?
    private var stateIsUnavailable = false
    private let lock = NSLock()

    /// Makes `openState` throw, as when the state database sits beside a store that is down; runs
    /// that change nothing then go on without history.
    public var stateUnavailable: Bool {
        get { lock.lock(); defer { lock.unlock() }; return stateIsUnavailable }
        set { lock.lock(); defer { lock.unlock() }; stateIsUnavailable = newValue }
    }

    public init(components: [String: ScriptedComponent], store: MemoryStore = MemoryStore(), configure: (inout Configuration) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory("memory-resources")
        var config = Configuration.embeddedDefaults(workingDirectory: directory.url)
        config.environment = ConfigValue(.string("test"), .builtIn)
        config.components = components.keys.sorted().map {
            ComponentConfig(name: $0, plugin: ConfigValue(.string("scripted"), .builtIn), settings: [:], hooks: HookSet(), origin: .builtIn)
        }
        config.statePath = directory.path("state.sqlite").path
        config.stagingDir = directory.url.path
        configure(&config)
        self.config = config
        self.store = store
        self.components = components
        hooks = HookRunner(searchDirectories: [directory.url])
    }

    public var environmentName: String { config.environmentName }
    public var workingDirectory: URL { directory.url }
    public var storeDescription: String { "memory" }
    public var storeLocalPaths: [String] { [] }
    public func artifactURL(key: String) -> String { "memory:\(key)" }
    public func checkStore() throws {}
    public func openStore(_ scope: RunScope) throws -> any ObjectStore { store }

    public func checkComponent(_ name: String) throws { _ = try component(name) }
    public func traits(ofComponent name: String) throws -> ComponentTraits { try component(name).traits }
    public func openComponent(_ name: String, _ scope: RunScope) throws -> any ComponentSource { try component(name) }

    public func componentNames(_ named: [String]) throws -> [String] {
        for name in named { _ = try component(name) }
        return named.isEmpty ? components.keys.sorted() : named
    }

    public func checkAction(plugin: String, action: String, arguments: [JSONValue]) throws -> [JSONValue] {
        throw CairnError.usage("no plugin '\(plugin)' in memory")
    }

    public func callAction(plugin: String, action: String, arguments: [JSONValue], _ scope: RunScope) throws -> JSONValue {
        throw CairnError.usage("no plugin '\(plugin)' in memory")
    }

    public func storeCleanup(_ scope: RunScope) throws -> PruneService.StoreCleanup? { nil }

    public func openState() throws -> StateStore {
        lock.lock(); defer { lock.unlock() }
        if stateIsUnavailable {
            throw CairnError.failure("cannot open the state database \(directory.path("state.sqlite").path): unavailable (MemoryResources.stateUnavailable)")
        }
        if let state { return state }
        let opened = try StateStore(path: directory.path("state.sqlite").path)
        state = opened
        return opened
    }

    public func temporaryDirectory() throws -> URL { directory.url }

    private func component(_ name: String) throws -> ScriptedComponent {
        guard let component = components[name] else { throw CairnError.usage("unknown component '\(name)'") }
        return component
    }
}
