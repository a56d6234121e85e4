import CairnCore
import CairnHooks
import CairnArchive
import CairnOperations
import Foundation

/// `storage:` in cairn.yaml: which storage plugin, and its settings.
public struct StorageConfig: Sendable {
    /// The storage plugin's name; nil: the store plugins declare (plugin.json `default_store`, a
    /// store selected by a variable or flag its manifest names).
    public var type: ConfigValue?
    public var settings: [String: ConfigValue]
    /// `storage.isolation`: how the store's plugin runs.
    public var isolation: IsolationConfig? = nil

    public init(type: ConfigValue?, settings: [String: ConfigValue]) { self.type = type; self.settings = settings }
}

/// One entry of `components:`: an instance name bound to a component plugin.
public struct ComponentConfig: Sendable {
    public var name: String
    public var plugin: ConfigValue
    public var settings: [String: ConfigValue]
    /// Values of command-line flags for this component alone (`cairn backup redis --type both`),
    /// by flag; plugin.json says which setting each flag sets.
    public var flags: [String: ConfigValue] = [:]
    /// Hooks around this component's steps (`components.<name>.hooks`).
    public var hooks: HookSet
    public var origin: ValueOrigin
    /// `retention:` of this component, over the top-level one (cairn prune).
    public var retention: RetentionPolicy? = nil
    /// `max_age:` of this component: how old its newest backup may be (cairn validate).
    public var maxAge: Double? = nil
    /// `isolation:` of this component: how its plugin instance runs.
    public var isolation: IsolationConfig? = nil

    public init(name: String, plugin: ConfigValue, settings: [String: ConfigValue], flags: [String: ConfigValue] = [:],
                hooks: HookSet = HookSet(), origin: ValueOrigin, retention: RetentionPolicy? = nil, maxAge: Double? = nil) {
        self.name = name; self.plugin = plugin; self.settings = settings; self.flags = flags; self.hooks = hooks
        self.origin = origin; self.retention = retention; self.maxAge = maxAge
    }
}

/// The whole configuration: the file (if any) with the environment and `--environment` applied.
/// Plugin settings, their variables and the runbook's flags are checked against plugin manifests
/// later (CairnPluginHost's SettingsResolver), because only the manifest knows which settings a
/// plugin takes.
public struct Configuration: Sendable {
    /// The file that was read, or nil when running on the embedded defaults.
    public var file: String?
    public var environment: ConfigValue
    public var storage: StorageConfig
    public var components: [ComponentConfig]
    public var pluginDirs: [String]
    /// SQLite database for run history; nil means the default next to the store.
    public var statePath: String?
    /// Where plugins may put temporary files and unknown-size entries are spooled.
    public var stagingDir: String
    /// `compression.level` (or `archive.compression_level`); nil means the format's default.
    public var compressionLevel: Int32?
    /// `compression.format`: gzip (`.tar.gz`, the default) or zstd (`.tar.zst`).
    public var compressionFormat: ArchiveFormat = .gzip
    public var compressionThreads: Int?
    /// Pipelines from cairn.yaml; they add to, or replace, the built-in ones.
    public var pipelines: [Pipeline]
    /// Run-level hooks for every pipeline run.
    public var hooks: HookSet
    /// Extra folders searched for hooks given by a relative path.
    public var hooksDirs: [String]
    /// Run logs go to `<logDir>/<pipeline>/<pipeline>_<component>_YYYYMMDD.log` (runbook layout).
    public var logDir: String
    /// One line per finished backup (the runbook's manual_backups.log).
    public var recordFile: String?
    /// `logs.format`: "text" or "json" for the log lines on stderr.
    public var logFormat: String? = nil
    /// `locks.lease`: seconds a component's lock in the store lasts without renewal (docs/pipelines.md).
    public var lockLease: Double = 60
    /// `metrics:`: where Prometheus metrics go after every run (docs/monitoring.md).
    public var metrics = MetricsSettings()
    /// `plugins:`: how each plugin's instances run (isolation, memory limit, cancel grace).
    public var plugins: [String: IsolationConfig] = [:]
    /// Thresholds of the host pre-checks (disk, memory, load).
    public var hostChecks: HostCheckThresholds
    /// Incidents and escalation hooks (docs/escalation.md).
    public var escalation: EscalationSettings
    /// Relative paths in the config file are resolved against this folder.
    public var baseDirectory: URL
    /// Values of the runbook's global flags (`--bucket`, `--region`), by flag. They beat variables
    /// and the file; plugin.json says which setting of which store each one sets.
    public var flags: [String: ConfigValue] = [:]
    /// `retention:`: the default policy of `cairn prune`; nil means prune deletes nothing.
    public var retention: RetentionPolicy? = nil
    /// `validation.max_age`: how old the newest backup may be before `cairn validate` calls it stale.
    public var maxBackupAge: Double = Configuration.defaultMaxBackupAge
    /// `encryption:`: archives are age files (`.tar.gz.age`, `.tar.zst.age`); nil: written unencrypted.
    public var encryption: EncryptionSettings? = nil

    public static let defaultMaxBackupAge: Double = 26 * 3600

    public static let defaultStoreRoot = "cairn-backups"

    /// The embedded defaults: the default store plugin (the filesystem store under ./cairn-backups),
    /// environment "dev".
    public static func embeddedDefaults(workingDirectory: URL) -> Configuration {
        Configuration(
            file: nil,
            environment: ConfigValue(.string("dev"), .builtIn),
            storage: StorageConfig(type: nil, settings: [:]),
            components: [],
            pluginDirs: [],
            statePath: nil,
            stagingDir: FileManager.default.temporaryDirectory.path,
            compressionLevel: nil,
            compressionThreads: nil,
            pipelines: [],
            hooks: HookSet(),
            hooksDirs: [],
            logDir: workingDirectory.appendingPathComponent("logs").path,
            recordFile: nil,
            hostChecks: HostCheckThresholds(),
            escalation: EscalationSettings(),
            baseDirectory: workingDirectory)
    }

    public var environmentName: String { environment.value.stringValue ?? "dev" }

    public func component(named name: String) -> ComponentConfig? { components.first { $0.name == name } }

    /// The retention policy of a component: its own rules over the top-level ones; nil when neither sets any.
    public func retention(of name: String) -> RetentionPolicy? {
        guard let own = component(named: name)?.retention else { return retention }
        return own.over(retention)
    }

    /// How old the newest backup of a component may be (seconds).
    public func maxAge(of name: String) -> Double { component(named: name)?.maxAge ?? maxBackupAge }

    /// Gives a command-line flag to one component (`cairn backup redis --type both`); the component's
    /// plugin.json says which setting it sets. A component not in the file gets an entry named after
    /// its plugin.
    public mutating func setFlag(_ flag: String, value: JSONValue, component name: String) {
        let setting = ConfigValue(value, .commandLine(flag))
        if let index = components.firstIndex(where: { $0.name == name }) {
            components[index].flags[flag] = setting
        } else {
            components.append(ComponentConfig(name: name, plugin: ConfigValue(.string(name), setting.origin), settings: [:],
                                              flags: [flag: setting], hooks: HookSet(), origin: setting.origin))
        }
    }

    /// The record file: `record_file` from the config, else `<logDir>/manual_backups.log`.
    public var recordFilePath: String { recordFile ?? URL(fileURLWithPath: logDir).appendingPathComponent("manual_backups.log").path }
}

/// `metrics:` in cairn.yaml; CAIRN_METRICS_TEXTFILE and CAIRN_METRICS_PUSHGATEWAY override it.
public struct MetricsSettings: Sendable {
    /// The .prom file node_exporter's textfile collector reads.
    public var textfile: String?
    /// Base URL of a Prometheus Pushgateway.
    public var pushgateway: String?
    /// The Pushgateway job name.
    public var job = "cairn"

    public init() {}
}
