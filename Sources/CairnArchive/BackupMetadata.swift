import CairnCore
import Foundation

/// The sentinel written last into every archive as `<backup_id>/backup_metadata.json`. A backup
/// without it is incomplete. Field names are snake_case because operators read it with jq.
public struct BackupMetadata: Codable, Equatable, Sendable {
    public static let fileName = "backup_metadata.json"
    public static let currentFormat = "cairn-backup/1"

    public struct Tool: Codable, Equatable, Sendable {
        public var name: String
        public var version: String
        public init(name: String = "cairn", version: String) { self.name = name; self.version = version }
    }

    public var format: String
    public var backupID: String
    public var component: String
    public var plugin: String
    public var pluginVersion: String
    public var environment: String
    public var startedAt: Date
    public var finishedAt: Date
    public var tool: Tool
    /// Facts about the source reported by the plugin (server version, keys, classes...).
    public var source: [String: JSONValue]
    /// Every file in the archive except this metadata file, in archive order.
    public var files: [FileRecord]
    public var totalBytes: Int64

    enum CodingKeys: String, CodingKey {
        case format, component, plugin, environment, tool, source, files
        case backupID = "backup_id", pluginVersion = "plugin_version"
        case startedAt = "started_at", finishedAt = "finished_at", totalBytes = "total_bytes"
    }

    public init(backupID: String, component: String, plugin: String, pluginVersion: String,
                environment: String, startedAt: Date, finishedAt: Date, toolVersion: String,
                source: [String: JSONValue], files: [FileRecord]) {
        self.format = Self.currentFormat
        self.backupID = backupID; self.component = component; self.plugin = plugin
        self.pluginVersion = pluginVersion; self.environment = environment
        self.startedAt = startedAt; self.finishedAt = finishedAt
        self.tool = Tool(version: toolVersion); self.source = source; self.files = files
        self.totalBytes = files.reduce(0) { $0 + $1.size }
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> BackupMetadata {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(BackupMetadata.self, from: data)
    }
}
