import CCairnPlugin
import CairnPluginSupport

/// Weaviate's backup module Cairn drives.
enum Backend: String {
    case filesystem, s3
}

/// The instance's configuration, validated once in `open`.
struct Settings {
    var url = "http://localhost:8080"
    var apiKey: String?
    var backend = Backend.filesystem
    var backupsPath: String?
    var localCopies = 1
    var include: [String] = []
    var exclude: [String] = []
    var cpuPercentage = 50
    var compressionLevel = "DefaultCompression"
    var pollIntervalMs = 1000
    var pollMaxIntervalMs = 10000
    var deadline = 3600
    var connectTimeout = 5
    var requestTimeout = 30

    init(_ host: PluginHost) throws(WeaviateError) {
        if let text = try host.setting("url"), !text.isEmpty {
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else {
                throw WeaviateError(CAIRN_INVALID, "setting 'url' (WEAVIATE_URL) must start with http:// or https://, like http://localhost:8080")
            }
            guard !text.contains("@") else {
                throw WeaviateError(CAIRN_INVALID, "setting 'url' (WEAVIATE_URL) must not hold credentials: give the key in api_key or WEAVIATE_API_KEY")
            }
            url = String(text.reversed().drop(while: { $0 == "/" }).reversed())
            if url.hasSuffix("/v1") { url = String(url.dropLast(3)) }
        }
        if let key = try host.secret("api_key"), !key.isEmpty { apiKey = key }
        if let text = try host.setting("backend") {
            guard let value = Backend(rawValue: text) else {
                throw WeaviateError(CAIRN_INVALID, "setting 'backend' must be filesystem or s3, not '\(text)'")
            }
            backend = value
        }
        if let text = try host.setting("backups_path"), !text.isEmpty { backupsPath = text }
        if let text = try host.setting("local_copies") { localCopies = try Self.integer(text, "local_copies", 0 ... 10_000) }
        include = try Self.list(host, "include")
        exclude = try Self.list(host, "exclude")
        if !include.isEmpty && !exclude.isEmpty {
            throw WeaviateError(CAIRN_INVALID, "settings 'include' and 'exclude' cannot both be set (Weaviate refuses that): keep one")
        }
        if let text = try host.setting("cpu_percentage") { cpuPercentage = try Self.integer(text, "cpu_percentage", 1 ... 80) }
        if let text = try host.setting("compression_level"), !text.isEmpty { compressionLevel = text }
        if let text = try host.setting("poll_interval_ms") { pollIntervalMs = try Self.integer(text, "poll_interval_ms", 1 ... 600_000) }
        if let text = try host.setting("poll_max_interval_ms") { pollMaxIntervalMs = try Self.integer(text, "poll_max_interval_ms", 1 ... 600_000) }
        pollMaxIntervalMs = max(pollMaxIntervalMs, pollIntervalMs)
        if let text = try host.setting("deadline") { deadline = try Self.integer(text, "deadline", 1 ... 7 * 86400) }
        if let text = try host.setting("connect_timeout") { connectTimeout = try Self.integer(text, "connect_timeout", 1 ... 3600) }
        if let text = try host.setting("request_timeout") { requestTimeout = try Self.integer(text, "request_timeout", 1 ... 86400) }
    }

    static func integer(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws(WeaviateError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw WeaviateError(CAIRN_INVALID, "setting '\(name)' must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// A list setting arrives as JSON text (cairn_plugin.h, config_get).
    static func list(_ host: PluginHost, _ name: String) throws(WeaviateError) -> [String] {
        guard let text = try host.setting(name), !text.isEmpty else { return [] }
        guard let items = JSON.parse(text)?.array, items.allSatisfy({ $0.string != nil }) else {
            throw WeaviateError(CAIRN_INVALID, "setting '\(name)' must be a list of collection names, like [Article, Author]")
        }
        return items.compactMap(\.string).filter { !$0.isEmpty }
    }
}
