import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation
import Logging

/// What the engine needs from outside itself: the configured store and components, plugins'
/// native actions, the state database, hooks. The command line provides it over the plugin host;
/// tests provide in-memory twins (MemoryStore, scripted components). Every method may be called
/// from several threads (parallel steps).
public protocol RunResources: AnyObject, Sendable {
    var config: Configuration { get }
    var environmentName: String { get }
    var workingDirectory: URL { get }
    /// How messages name the store: "filesystem /var/backups/cairn", "s3 my-bucket".
    var storeDescription: String { get }
    /// Local folders the store writes to; the host checks look at their free space.
    var storeLocalPaths: [String] { get }
    /// Where an object lives, for people and hooks (file:///… or s3://bucket/key).
    func artifactURL(key: String) -> String
    /// Throws the operator's error unless the configured store can be opened as configured (load time).
    func checkStore() throws
    func openStore(_ scope: RunScope) throws -> any ObjectStore
    /// Throws the operator's error unless `name` is a component this configuration can back up.
    func checkComponent(_ name: String) throws
    /// What a component is and can do, without opening it (load-time checks).
    func traits(ofComponent name: String) throws -> ComponentTraits
    func openComponent(_ name: String, _ scope: RunScope) throws -> any ComponentSource
    /// The components a step covers: those named (each must be known), else every configured one.
    func componentNames(_ named: [String]) throws -> [String]
    /// A native action's arguments checked against its declared signature (load time).
    func checkAction(plugin: String, action: String, arguments: [JSONValue]) throws -> [JSONValue]
    func callAction(plugin: String, action: String, arguments: [JSONValue], _ scope: RunScope) throws -> JSONValue
    /// The store's own cleanup that prune runs, when its plugin offers one.
    func storeCleanup(_ scope: RunScope) throws -> PruneService.StoreCleanup?
    func openState() throws -> StateStore
    var hooks: HookRunner { get }
    /// A private scratch folder for this invocation (spooled entries, plugins' temporary files).
    func temporaryDirectory() throws -> URL
}

/// Who is listening and when to stop: a run's log and cancellation, narrowed per step.
public struct RunScope: Sendable {
    public var logger: Logger
    public var cancellation: Cancellation

    public init(logger: Logger, cancellation: Cancellation) { self.logger = logger; self.cancellation = cancellation }

    public func with(logger: Logger) -> RunScope { RunScope(logger: logger, cancellation: cancellation) }
    public func with(cancellation: Cancellation) -> RunScope { RunScope(logger: logger, cancellation: cancellation) }
}
