import CCairnPlugin
import CairnPluginSupport
import Glibc

/// What to back up (the runbook's `--type`).
enum BackupType: String {
    case rdb, aof, both
    var wantsRDB: Bool { self != .aof }
    var wantsAOF: Bool { self != .rdb }
}

/// How the RDB is produced.
enum RDBMode: String {
    case network, disk
}

/// How the RDB's contents are read: the server's own snapshot over the replication protocol, or
/// key by key (SCAN + DUMP + PTTL) for managed services that refuse SYNC.
enum RDBMethod: String {
    case replication, logical
}

/// The instance's configuration, validated once in `open`.
struct Settings {
    var host = "127.0.0.1"
    var port: UInt16 = 6379
    var username: String?
    var password: String?
    var db: Int?
    var type = BackupType.rdb
    var mode = RDBMode.network
    var method = RDBMethod.replication
    var allowDiskSync = false
    var connectTimeout = 5
    var readTimeout = 60
    var dir: String?
    /// TLS for every connection (rediss:// or a `tls` mapping); nil for plain TCP.
    var tls: TLSSettings?
    var sentinel: SentinelSettings?
    var sentinelPassword: String?
    var prefer = Prefer.master
    var cluster = false
    var allowPartial = false

    /// "host:port" for messages.
    var address: String { Self.address(host, port) }
    static func address(_ host: String, _ port: UInt16) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    init(_ host: PluginHost) throws(RedisError) {
        var urlHost: String?, urlPort: UInt16?
        if let url = try host.secret("url"), !url.isEmpty {  // secret: it may hold a password
            let parsed = try Self.parseURL(url)
            urlHost = parsed.host
            urlPort = parsed.port
            username = parsed.user
            password = parsed.password
            db = parsed.db
            if parsed.tls { tls = TLSSettings() }
        }
        if let text = try host.setting("tls"), !text.isEmpty {
            tls = try TLSSettings.parse(text)
        }
        if let text = try host.setting("sentinel"), !text.isEmpty { sentinel = try SentinelSettings.parse(text) }
        if let secret = try host.secret("sentinel_password"), !secret.isEmpty { sentinelPassword = secret }
        if let text = try host.setting("cluster") { cluster = try Self.bool(text, "cluster") }
        if let text = try host.setting("allow_partial") { allowPartial = try Self.bool(text, "allow_partial") }
        if cluster && sentinel != nil {
            throw RedisError(CAIRN_INVALID, "settings 'cluster' and 'sentinel' exclude each other: a Redis Cluster fails over by itself, without Sentinel")
        }
        if let text = try host.setting("prefer") {
            guard let value = Prefer(rawValue: text) else {
                throw RedisError(CAIRN_INVALID, "setting 'prefer' must be master or replica, not '\(text)'")
            }
            prefer = value
        }
        let hostSetting = try host.setting("host")
        self.host = urlHost ?? hostSetting.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        if let port = urlPort {
            self.port = port
        } else if let text = try host.setting("port") {
            self.port = try Self.port(text, "setting 'port'")
        }
        if let user = try host.setting("username"), !user.isEmpty { username = user }
        if let secret = try host.secret("password"), !secret.isEmpty { password = secret }
        if let text = try host.setting("db") { db = try Self.integer(text, "db", 0 ... 1_000_000) }
        if let text = try host.setting("type") {
            guard let value = BackupType(rawValue: text) else {
                throw RedisError(CAIRN_INVALID, "setting 'type' must be rdb, aof or both, not '\(text)'")
            }
            type = value
        }
        if let text = try host.setting("mode") {
            guard let value = RDBMode(rawValue: text) else {
                throw RedisError(CAIRN_INVALID, "setting 'mode' must be network or disk, not '\(text)'")
            }
            mode = value
        }
        if let text = try host.setting("method") {
            guard let value = RDBMethod(rawValue: text) else {
                throw RedisError(CAIRN_INVALID, "setting 'method' must be replication or logical, not '\(text)'")
            }
            method = value
        }
        if method == .logical && mode == .disk {
            throw RedisError(CAIRN_INVALID, "settings 'method: logical' and 'mode: disk' exclude each other: a logical backup reads keys over the network "
                             + "(drop 'mode: disk', or use 'method: replication' for a BGSAVE read from the server's dir)")
        }
        if let text = try host.setting("allow_disk_sync") {
            switch text.lowercased() {
            case "true", "yes", "on", "1": allowDiskSync = true
            case "false", "no", "off", "0": allowDiskSync = false
            default: throw RedisError(CAIRN_INVALID, "setting 'allow_disk_sync' must be true or false, not '\(text)'")
            }
        }
        if let text = try host.setting("connect_timeout") { connectTimeout = try Self.integer(text, "connect_timeout", 1 ... 3600) }
        if let text = try host.setting("read_timeout") { readTimeout = try Self.integer(text, "read_timeout", 1 ... 86400) }
        if let text = try host.setting("dir"), !text.isEmpty { dir = text }
    }

    static func bool(_ text: String, _ name: String) throws(RedisError) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw RedisError(CAIRN_INVALID, "setting '\(name)' must be true or false, not '\(text)'")
        }
    }

    static func integer(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws(RedisError) -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw RedisError(CAIRN_INVALID, "setting '\(name)' must be a whole number in \(range.lowerBound)...\(range.upperBound), not '\(text)'")
        }
        return value
    }

    static func port(_ text: String, _ role: String) throws(RedisError) -> UInt16 {
        guard let value = UInt16(text), value > 0 else {
            throw RedisError(CAIRN_INVALID, "\(role) must be a port number (1-65535), not '\(text)'")
        }
        return value
    }

    struct ParsedURL {
        var host: String
        var port: UInt16
        var user: String?
        var password: String?
        var db: Int?
        var tls = false
    }

    /// redis[s]://[user:password@]host:port[/db]. The error never repeats the URL: it may hold a password.
    static func parseURL(_ url: String) throws(RedisError) -> ParsedURL {
        let secure = url.hasPrefix("rediss://")
        let scheme = secure ? "rediss://" : "redis://"
        guard url.hasPrefix(scheme) else {
            throw RedisError(CAIRN_INVALID, "setting 'url' (REDIS_URL) is not usable: it must start with redis:// (or rediss:// for TLS)")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        var result = ParsedURL(host: "127.0.0.1", port: 6379)
        result.tls = secure
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = try percentDecode(credentials[..<colon])
                result.user = user.isEmpty ? nil : user
                result.password = try percentDecode(credentials[credentials.index(after: colon)...])
            } else {
                // redis://user@host: the password then comes from REDIS_PASSWORD (kept out of URLs).
                let user = try percentDecode(credentials)
                result.user = user.isEmpty ? nil : user
            }
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else {
                    throw RedisError(CAIRN_INVALID, "setting 'url' (REDIS_URL): the database after '/' must be a number, not '\(dbText)'")
                }
                result.db = db
            }
        }
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            result.host = String(hostPort[hostPort.index(after: hostPort.startIndex) ..< close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { result.port = try port(String(after.dropFirst()), "the port in setting 'url'") }
        } else if let colon = hostPort.lastIndex(of: ":") {
            result.host = String(hostPort[..<colon])
            result.port = try port(String(hostPort[hostPort.index(after: colon)...]), "the port in setting 'url'")
        } else if !hostPort.isEmpty {
            result.host = String(hostPort)
        }
        if result.host.isEmpty { result.host = "127.0.0.1" }
        return result
    }

    static func percentDecode(_ text: Substring) throws(RedisError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard iterator.count >= 2,
                  let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16) else {
                throw RedisError(CAIRN_INVALID, "setting 'url' (REDIS_URL) has a bad %-escape in its credentials")
            }
            bytes.append(value)
            iterator = iterator.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
