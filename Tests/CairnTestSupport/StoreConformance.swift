import CairnCore
import CairnInterfaces
import CairnPluginHost
import CairnPluginKit
import Foundation
import Logging
import Testing

/// The store rules as swift-testing arguments: the cases live in CairnPluginKit, where
/// `cairn plugins test` runs them against any storage plugin; here each store's test target runs
/// them against its own store (the in-memory twin, the filesystem plugin, S3 on moto).
public enum StoreConformance {
    /// A storage plugin's instance with `settings`, as the host opens it.
    public static func open(_ plugin: LoadedPlugin, settings: [String: JSONValue], scratch: URL,
                            isolation: PluginIsolation? = nil) throws -> PluginStore {
        let resolved = try SettingsResolver.resolve(
            manifest: plugin.manifest, configured: settings.mapValues { ConfigValue($0, .builtIn) }, environment: [:],
            baseDirectory: scratch, workingDirectory: scratch, owner: "storage '\(plugin.name)'")
        return try PluginStore(plugin: plugin, instanceName: plugin.name, settings: resolved, logger: Logger(label: "conformance"),
                               cancellation: Cancellation(), tempDirectory: scratch.path, isolation: isolation)
    }

    public struct Check: CustomTestStringConvertible, Sendable {
        let kitCase: CairnPluginKit.StoreConformance.Case
        public var name: String { kitCase.name }
        public var testDescription: String { name }
    }

    public static let checks: [Check] = CairnPluginKit.StoreConformance.cases.map(Check.init)

    public static func randomData(_ count: Int, seed: UInt64) -> Data { CairnPluginKit.StoreConformance.randomData(count, seed: seed) }
}

extension StoreConformance.Check {
    /// Runs the check against `store` under a prefix of its own; a broken rule is a test issue
    /// that names it. Every store tested here has put_if, so a skipped case is an issue too.
    public func run(on store: any ObjectStore) throws {
        do { try kitCase.run(on: store) } catch let failure as ConformanceFailure {
            Issue.record("\(name): \(failure.reason)")
        } catch let skipped as CairnPluginKit.StoreConformance.Skipped {
            Issue.record("\(name): skipped: \(skipped.reason)")
        }
    }
}
