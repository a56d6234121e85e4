import CairnCore
import CairnHooks
import CairnArchive
import CairnOperations
import Foundation
import Yams

/// Finds, reads and checks cairn.yaml, then applies environment and command-line overrides.
public enum ConfigLoader {
    public static let searchOrder = ["--config", "$CAIRN_CONFIG", "./cairn.yaml", "/etc/cairn/cairn.yaml"]

    /// Overrides given on the command line: `--environment`, and the runbook's flags for the
    /// store (`--bucket`, `--region`), which plugin.json maps to settings.
    public struct Overrides: Sendable {
        public var environment: String?
        /// Flag ("--bucket") to value; nil values are left out.
        public var flags: [String: String]
        public init(environment: String? = nil, flags: [String: String?] = [:]) {
            self.environment = environment; self.flags = flags.compactMapValues { $0 }
        }
    }

    /// Search order: --config, $CAIRN_CONFIG, ./cairn.yaml, /etc/cairn/cairn.yaml; none found
    /// means the embedded defaults. A file named explicitly must exist.
    public static func load(explicitPath: String?, environment: [String: String], overrides: Overrides,
                            workingDirectory: URL) throws -> Configuration {
        var config: Configuration
        if let path = explicitPath ?? environment["CAIRN_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let url = URL(fileURLWithPath: resolvePath(path, against: workingDirectory))
            guard FileManager.default.fileExists(atPath: url.path) else {
                let via = explicitPath != nil ? "--config" : "CAIRN_CONFIG"
                throw CairnError.usage("config file \(url.path) (from \(via)) does not exist")
            }
            config = try parse(file: url)
        } else if let found = ["cairn.yaml", "/etc/cairn/cairn.yaml"]
                    .map({ URL(fileURLWithPath: resolvePath($0, against: workingDirectory)) })
                    .first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            config = try parse(file: found)
        } else {
            config = .embeddedDefaults(workingDirectory: workingDirectory)
        }
        // The runbook's ENVIRONMENT; plugin variables (S3_BUCKET, REDIS_URL...) are declared in
        // manifests and applied with each plugin's settings.
        if let value = environment["ENVIRONMENT"], !value.isEmpty {
            config.environment = ConfigValue(.string(value), .environment("ENVIRONMENT"))
        }
        if let value = overrides.environment {
            config.environment = ConfigValue(.string(value), .commandLine("--environment"))
        }
        for (flag, value) in overrides.flags {
            config.flags[flag] = ConfigValue(.string(value), .commandLine(flag))
        }
        // The environment becomes a folder of every storage key and part of incident keys.
        guard Name.isValid(config.environmentName) else {
            throw CairnError.usage("\(config.environment.origin): environment '\(config.environmentName)' must be \(Name.rule) (it becomes a folder of every storage key)")
        }
        return config
    }

    // MARK: - Parsing

    static let topLevelKeys = ["environment", "storage", "components", "plugin_dirs", "state", "staging_dir", "archive", "compression",
                               "pipelines", "hooks", "hooks_dirs", "logs", "checks", "retention", "validation", "escalation", "metrics", "locks", "plugins",
                               "encryption"]

    /// Parses one config file. Every error names file:line:column and the key.
    public static func parse(file url: URL) throws -> Configuration {
        try parse(text: try ConfigFileReader.text(of: url), path: url.path, baseDirectory: url.deletingLastPathComponent())
    }

    public static func parse(text: String, path: String, baseDirectory: URL) throws -> Configuration {
        let reader = YAMLReader(path: path)
        let root: Node
        try YAMLBounds.refuseAliasKeys(in: text, path: path)
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw CairnError.usage("config file \(path) is empty; delete it to use the embedded defaults, or see docs/configuration.md")
            }
            root = node
        } catch let error as YamlError {
            if case .duplicatedKeysInMapping = error { throw CairnError.usage(YAMLErrorText.describe(error, text: text, path: path)) }
            throw CairnError.usage("config file \(path) is not valid YAML: \(YAMLErrorText.describe(error, text: text, path: path))")
        }
        // Before any parser walks it: aliases can make a small file a huge tree.
        try YAMLBounds.check(root, reader: reader)
        var config = Configuration.embeddedDefaults(workingDirectory: baseDirectory)
        config.file = path
        var levelNode: Node?
        let top = try reader.mapping(root, context: "the top level")
        try reader.rejectUnknownKeys(top, known: topLevelKeys, context: "the top level")
        for (keyNode, valueNode) in top {
            let key = keyNode.string ?? ""
            switch key {
            case "environment":
                config.environment = ConfigValue(.string(try reader.string(valueNode, key: key)), reader.origin(valueNode))
            case "storage":
                config.storage = try parseStorage(valueNode, reader: reader)
            case "components":
                config.components = try parseComponents(valueNode, reader: reader)
            case "plugin_dirs":
                config.pluginDirs = try reader.list(valueNode, key: key).map {
                    resolvePath(try reader.string($0, key: key), against: baseDirectory)
                }
            case "state":
                let state = try reader.mapping(valueNode, context: "'state'")
                try reader.rejectUnknownKeys(state, known: ["path"], context: "'state'")
                if let pathNode = state.first(where: { $0.key.string == "path" })?.value {
                    config.statePath = resolvePath(try reader.string(pathNode, key: "state.path"), against: baseDirectory)
                }
            case "staging_dir":
                config.stagingDir = resolvePath(try reader.string(valueNode, key: key), against: baseDirectory)
            case "archive":
                let archive = try reader.mapping(valueNode, context: "'archive'")
                try reader.rejectUnknownKeys(archive, known: ["compression_level", "threads"], context: "'archive'")
                for (k, v) in archive {
                    let number = try reader.integer(v, key: "archive.\(k.string ?? "")")
                    if k.string == "compression_level" {
                        if levelNode != nil { throw reader.error(v, "archive.compression_level and compression.level both set the level; keep compression.level") }
                        levelNode = v
                        config.compressionLevel = Int32(clamping: number)
                    } else {
                        guard (1...64).contains(number) else { throw reader.error(v, "archive.threads must be 1 to 64, got \(number)") }
                        config.compressionThreads = number
                    }
                }
            case "compression":
                let compression = try reader.mapping(valueNode, context: "'compression'")
                try reader.rejectUnknownKeys(compression, known: ["format", "level"], context: "'compression'")
                for (k, v) in compression {
                    if k.string == "format" {
                        let text = try reader.string(v, key: "compression.format")
                        guard let format = ArchiveFormat(rawValue: text) else {
                            throw reader.error(v, "compression.format must be gzip (the runbook's .tar.gz, the default) or zstd (.tar.zst), got '\(text)'")
                        }
                        config.compressionFormat = format
                    } else {
                        if levelNode != nil { throw reader.error(v, "archive.compression_level and compression.level both set the level; keep compression.level") }
                        levelNode = v
                        config.compressionLevel = Int32(clamping: try reader.integer(v, key: "compression.level"))
                    }
                }
            case "pipelines":
                config.pipelines = try PipelineParser(reader: reader).pipelines(valueNode, builtIn: false)
            case "hooks":
                config.hooks = try PipelineParser(reader: reader).hookSet(valueNode, context: "the run")
            case "hooks_dirs":
                config.hooksDirs = try reader.list(valueNode, key: key).map { resolvePath(try reader.string($0, key: key), against: baseDirectory) }
            case "logs":
                let logs = try reader.mapping(valueNode, context: "'logs'")
                try reader.rejectUnknownKeys(logs, known: ["dir", "record_file", "format"], context: "'logs'")
                for (k, v) in logs {
                    let text = try reader.string(v, key: "logs.\(k.string ?? "")")
                    if k.string == "format" {
                        guard ["text", "json"].contains(text) else { throw reader.error(v, "logs.format must be text or json, got '\(text)'") }
                        config.logFormat = text
                        continue
                    }
                    let path = resolvePath(text, against: baseDirectory)
                    if k.string == "dir" { config.logDir = path } else { config.recordFile = path }
                }
            case "locks":
                let locks = try reader.mapping(valueNode, context: "'locks'")
                try reader.rejectUnknownKeys(locks, known: ["lease"], context: "'locks'")
                for (_, value) in locks {
                    let text = try reader.string(value, key: "locks.lease")
                    guard let seconds = parseDuration(text), seconds >= 1, seconds <= 3600 else {
                        throw reader.error(value, "locks.lease must be a duration from 1s to 1h (e.g. 60s, 2m), got '\(text)'")
                    }
                    config.lockLease = seconds
                }
            case "metrics":
                let metrics = try reader.mapping(valueNode, context: "'metrics'")
                try reader.rejectUnknownKeys(metrics, known: ["textfile", "pushgateway", "job"], context: "'metrics'")
                for (k, v) in metrics {
                    let text = try reader.string(v, key: "metrics.\(k.string ?? "")")
                    switch k.string {
                    case "textfile": config.metrics.textfile = resolvePath(text, against: baseDirectory)
                    case "pushgateway":
                        guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                            throw reader.error(v, "metrics.pushgateway must be a URL like http://pushgateway:9091, got '\(text)'")
                        }
                        config.metrics.pushgateway = text
                    default:
                        guard Name.isValid(text) else { throw reader.error(v, "metrics.job must be \(Name.rule), got '\(text)'") }
                        config.metrics.job = text
                    }
                }
            case "checks":
                config.hostChecks = try parseHostChecks(valueNode, reader: reader)
            case "retention":
                config.retention = try parseRetention(valueNode, reader: reader, context: "'retention'")
            case "validation":
                let validation = try reader.mapping(valueNode, context: "'validation'")
                try reader.rejectUnknownKeys(validation, known: ["max_age"], context: "'validation'")
                for (_, value) in validation { config.maxBackupAge = try maxAge(value, key: "validation.max_age", reader: reader) }
            case "escalation":
                config.escalation = try EscalationConfigParser(reader: reader).parse(valueNode)
            case "plugins":
                config.plugins = try IsolationConfig.plugins(valueNode, reader: reader)
            case "encryption":
                config.encryption = try EncryptionConfigParser.parse(valueNode, reader: reader, baseDirectory: baseDirectory)
            default:
                break  // rejectUnknownKeys already refused it
            }
        }
        // The level's range depends on the format, which may come after it.
        if let levelNode, let level = config.compressionLevel, !config.compressionFormat.levels.contains(level) {
            let format = config.compressionFormat
            throw reader.error(levelNode, "compression level \(level) is outside \(format.levels.lowerBound)...\(format.levels.upperBound) for \(format.rawValue): "
                               + format.levelAdvice)
        }
        return config
    }

    private static func parseStorage(_ node: Node, reader: YAMLReader) throws -> StorageConfig {
        let mapping = try reader.mapping(node, context: "'storage'")
        var type: ConfigValue?
        var settings: [String: ConfigValue] = [:]
        var isolation: IsolationConfig?
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            if key == "type" {
                type = ConfigValue(.string(try reader.string(valueNode, key: "storage.type")), reader.origin(valueNode))
            } else if key == "isolation" {
                isolation = try IsolationConfig.mode(valueNode, key: "storage.isolation", reader: reader)
            } else {
                settings[key] = ConfigValue(try reader.json(valueNode), reader.origin(keyNode))
            }
        }
        var storage = StorageConfig(type: type, settings: settings)
        storage.isolation = isolation
        return storage
    }

    private static func parseComponents(_ node: Node, reader: YAMLReader) throws -> [ComponentConfig] {
        var components: [ComponentConfig] = []
        for (nameNode, bodyNode) in try reader.mapping(node, context: "'components'") {
            let name = try reader.string(nameNode, key: "components")
            guard Name.isValid(name) else {
                throw reader.error(nameNode, "component name '\(name)' must be lowercase letters, digits, '-' or '_', starting with a letter (it becomes part of backup ids and storage keys)")
            }
            guard name != StateMirror.reservedName else {
                throw reader.error(nameNode, "component name '\(name)' is taken: the store's '\(name)/' folder holds the state every host shares; choose another name")
            }
            var plugin: ConfigValue?
            var settings: [String: ConfigValue] = [:]
            var hooks = HookSet()
            var retention: RetentionPolicy?
            var maxAge: Double?
            var isolation: IsolationConfig?
            for (keyNode, valueNode) in try reader.mapping(bodyNode, context: "component '\(name)'") {
                let key = keyNode.string ?? ""
                if key == "isolation" {
                    isolation = try IsolationConfig.mode(valueNode, key: "components.\(name).isolation", reader: reader)
                } else if key == "retention" {
                    retention = try parseRetention(valueNode, reader: reader, context: "'components.\(name).retention'")
                } else if key == "max_age" {
                    maxAge = try Self.maxAge(valueNode, key: "components.\(name).max_age", reader: reader)
                } else if key == "hooks" {
                    hooks = try PipelineParser(reader: reader).hookSet(valueNode, context: "component '\(name)'")
                } else if key == "plugin" {
                    plugin = ConfigValue(.string(try reader.string(valueNode, key: "components.\(name).plugin")), reader.origin(valueNode))
                } else {
                    settings[key] = ConfigValue(try reader.json(valueNode), reader.origin(keyNode))
                }
            }
            // Without `plugin:`, the instance name is the plugin name (components: { redis: {...} }).
            var component = ComponentConfig(name: name, plugin: plugin ?? ConfigValue(.string(name), reader.origin(nameNode)),
                                            settings: settings, hooks: hooks, origin: reader.origin(nameNode),
                                            retention: retention, maxAge: maxAge)
            component.isolation = isolation
            components.append(component)
        }
        return components
    }

    /// `retention:` rules; each a whole number of at least 1 (leave a rule out to not use it).
    private static func parseRetention(_ node: Node, reader: YAMLReader, context: String) throws -> RetentionPolicy {
        let body = try reader.mapping(node, context: context)
        try reader.rejectUnknownKeys(body, known: RetentionPolicy.keys, context: context)
        var policy = RetentionPolicy()
        for (keyNode, valueNode) in body {
            let key = keyNode.string ?? ""
            let count = try reader.integer(valueNode, key: key)
            guard count >= 1 else {
                throw reader.error(valueNode, "\(key) must be at least 1, got \(count) (leave the rule out to not use it)")
            }
            switch key {
            case "keep_last": policy.keepLast = count
            case "keep_daily": policy.keepDaily = count
            case "keep_weekly": policy.keepWeekly = count
            default: policy.keepMonthly = count
            }
        }
        return policy
    }

    /// "26h", "90m", "2d", or seconds.
    private static func maxAge(_ node: Node, key: String, reader: YAMLReader) throws -> Double {
        try PipelineParser(reader: reader).duration(node, key: key, examples: "26h, 90m or 2d")
    }

    /// `checks:` thresholds: sizes like "10GB" or "512MiB", loads as numbers per core.
    private static func parseHostChecks(_ node: Node, reader: YAMLReader) throws -> HostCheckThresholds {
        var thresholds = HostCheckThresholds()
        let keys = ["min_free_disk", "warn_free_disk", "min_available_memory", "warn_available_memory",
                    "max_load_per_core", "warn_load_per_core"]
        let body = try reader.mapping(node, context: "'checks'")
        try reader.rejectUnknownKeys(body, known: keys, context: "'checks'")
        for (keyNode, valueNode) in body {
            let key = keyNode.string ?? ""
            if key.hasSuffix("load_per_core") {
                guard let value = valueNode.float ?? valueNode.int.map(Double.init), value > 0 else {
                    throw reader.error(valueNode, "checks.\(key) must be a positive number (1-minute load average per core)")
                }
                if key.hasPrefix("max") { thresholds.maxLoadPerCore = value } else { thresholds.warnLoadPerCore = value }
                continue
            }
            let bytes: UInt64
            do { bytes = try parseByteSize(valueNode.scalar?.string ?? "") } catch {
                throw reader.error(valueNode, "checks.\(key): \(describe(error))")
            }
            switch key {
            case "min_free_disk": thresholds.minFreeDiskBytes = bytes
            case "warn_free_disk": thresholds.warnFreeDiskBytes = bytes
            case "min_available_memory": thresholds.minAvailableMemoryBytes = bytes
            default: thresholds.warnAvailableMemoryBytes = bytes
            }
        }
        return thresholds
    }
}
