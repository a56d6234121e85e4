import CairnCore
import Foundation
import Yams

/// How a plugin's instances run, as cairn.yaml says (docs/configuration.md, "Plugin isolation"):
/// `plugins.<name>` for every instance of a plugin, `isolation:` in a component's entry or in
/// `storage:` for that one. What is unset comes from the level above, and finally from the plugin
/// host's default (`process` for plugins not shipped with Cairn).
public struct IsolationConfig: Sendable, Equatable {
    public static let modes = ["process", "in-process"]

    /// "process" or "in-process".
    public var mode: String?
    /// Bytes of data the worker may map.
    public var memoryLimit: UInt64?
    /// Seconds between asking a plugin to cancel and killing its worker.
    public var cancelGrace: Double?

    public init(mode: String? = nil, memoryLimit: UInt64? = nil, cancelGrace: Double? = nil) {
        self.mode = mode; self.memoryLimit = memoryLimit; self.cancelGrace = cancelGrace
    }

    /// This level's values over `base`'s.
    public func over(_ base: IsolationConfig?) -> IsolationConfig {
        IsolationConfig(mode: mode ?? base?.mode, memoryLimit: memoryLimit ?? base?.memoryLimit,
                        cancelGrace: cancelGrace ?? base?.cancelGrace)
    }

    static let keys = ["isolation", "memory_limit", "cancel_grace"]

    /// `isolation: process` in a component's entry or in `storage:`.
    static func mode(_ node: Node, key: String, reader: YAMLReader) throws -> IsolationConfig {
        let text = try reader.string(node, key: key)
        guard modes.contains(text) else {
            throw reader.error(node, "'\(key)' must be process (a worker process of its own) or in-process (loaded into cairn), got '\(text)'")
        }
        return IsolationConfig(mode: text)
    }

    /// `plugins:`: a mapping of plugin names to `isolation`, `memory_limit`, `cancel_grace`.
    static func plugins(_ node: Node, reader: YAMLReader) throws -> [String: IsolationConfig] {
        var result: [String: IsolationConfig] = [:]
        for (nameNode, bodyNode) in try reader.mapping(node, context: "'plugins'") {
            let name = try reader.string(nameNode, key: "plugins")
            let body = try reader.mapping(bodyNode, context: "'plugins.\(name)'")
            try reader.rejectUnknownKeys(body, known: keys, context: "'plugins.\(name)'")
            var config = IsolationConfig()
            for (keyNode, valueNode) in body {
                let key = "plugins.\(name).\(keyNode.string ?? "")"
                switch keyNode.string {
                case "isolation":
                    config.mode = try mode(valueNode, key: key, reader: reader).mode
                case "memory_limit":
                    let text = try reader.string(valueNode, key: key)
                    do { config.memoryLimit = try parseByteSize(text) } catch {
                        throw reader.error(valueNode, "'\(key)' must be a size such as 512MiB or 2GiB, got '\(text)'")
                    }
                    guard config.memoryLimit! >= 16 << 20 else {
                        throw reader.error(valueNode, "'\(key)' must be at least 16MiB (a worker needs that much to load a plugin), got '\(text)'")
                    }
                default:
                    let text = try reader.string(valueNode, key: key)
                    guard let seconds = parseDuration(text), seconds >= 0.1, seconds <= 3600 else {
                        throw reader.error(valueNode, "'\(key)' must be a duration from 100ms to 1h such as 10s, got '\(text)'")
                    }
                    config.cancelGrace = seconds
                }
            }
            result[name] = config
        }
        return result
    }
}
