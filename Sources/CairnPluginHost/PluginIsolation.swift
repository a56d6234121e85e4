import CairnCore
import Foundation

/// How a plugin instance runs (cairn.yaml `isolation:`, docs/configuration.md): loaded into cairn
/// itself, or in a `cairn-plugin-worker` process of its own, where a crash, a hang or a runaway
/// allocation ends that process and fails the step, not cairn.
public struct PluginIsolation: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        case process
        case inProcess = "in-process"
    }

    public var mode: Mode
    /// Bytes of data the worker may map (RLIMIT_DATA); nil: no limit. Process mode only.
    public var memoryLimit: UInt64?
    /// After a cancel (a step's timeout, Ctrl-C, SIGTERM), how long the plugin has to stop before
    /// its worker is killed.
    public var cancelGrace: Double

    public static let defaultCancelGrace = 10.0

    public init(mode: Mode, memoryLimit: UInt64? = nil, cancelGrace: Double = PluginIsolation.defaultCancelGrace) {
        self.mode = mode; self.memoryLimit = memoryLimit; self.cancelGrace = cancelGrace
    }

    /// Plugins shipped with Cairn (and those linked into the program) run in process; every
    /// other plugin in a worker.
    public static func defaultMode(for plugin: LoadedPlugin) -> Mode {
        [PluginSearchPath.bundledOrigin, PluginLoader.linkedOrigin].contains(plugin.origin) ? .inProcess : .process
    }

    public static func `default`(for plugin: LoadedPlugin) -> PluginIsolation {
        PluginIsolation(mode: defaultMode(for: plugin))
    }

    /// The worker executable: `CAIRN_PLUGIN_WORKER`, else beside the running program.
    static var workerPath: String {
        if let path = ProcessInfo.processInfo.environment["CAIRN_PLUGIN_WORKER"], !path.isEmpty { return path }
        return (PluginSearchPath.bundledDirectory() ?? URL(fileURLWithPath: "/usr/local/lib/cairn"))
            .appendingPathComponent("cairn-plugin-worker").path
    }
}
