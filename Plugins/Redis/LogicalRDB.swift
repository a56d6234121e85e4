import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A loadable RDB built key by key, for servers that refuse SYNC (ElastiCache, Memorystore,
/// Redis Cloud): SCAN each database, DUMP and PTTL every key in pipelined batches, and write
/// SELECTDB, EXPIRETIME_MS, type, key and the DUMP payload's value as RDB records, ending with
/// the EOF opcode and the CRC64. Not point-in-time: keys are read one after another while the
/// server keeps writing. Streams into the sink; memory holds one batch plus 16 bytes per key
/// of the database being scanned (SCAN may return a key twice, and Redis refuses to load an
/// RDB that holds one twice).
struct LogicalRDB {
    let component: RedisComponent
    static let batch = 500
    static let flushAt = 256 * 1024

    struct Totals { var keys: UInt64 = 0; var vanished: UInt64 = 0; var bytes: UInt64 = 0 }

    /// `serverVersion` is INFO server's redis_version: the RDB version it names is the file's.
    func run(client: RespClient, serverVersion: String, sink: EntrySink) throws(RedisError) {
        let settings = component.settings
        let host = component.host
        client.maxBulk = 1 << 30  // a big key's whole DUMP payload is one reply
        let expected = LocalRedis.rdbVersion(forRedis: serverVersion)
        if let expected, expected > RDBValidator.newestKnownVersion {
            throw RedisError(CAIRN_INVALID, "Redis \(serverVersion) at \(settings.address) writes RDB version \(expected), newer than the \(RDBValidator.newestKnownVersion) Cairn knows: a logical backup would not be checkable")
        }
        let dbs = try databases(client)
        var writer = Writer(sink: sink, host: host)
        var version = expected
        var totals = Totals()
        let functions = try functionLibraries(client, version: &version)

        try sink.begin("dump.rdb", mtime: now(), size: CAIRN_SIZE_UNKNOWN)
        // The header's version is fixed before the first key: from the server's release, or,
        // when that is unknown, from the first DUMP payload (checked against all others).
        var headerWritten = false
        func header(_ rdb: Int) throws(RedisError) {
            guard !headerWritten else { return }
            headerWritten = true
            writer.put(Array("REDIS".utf8) + Array(String(format4(rdb)).utf8))
            writer.aux("redis-ver", serverVersion)
            writer.aux("redis-bits", String(MemoryLayout<Int>.size * 8))
            writer.aux("ctime", String(now()))
            writer.aux("aof-base", "0")
            writer.put(functions)
        }
        if let version { try header(version) }

        var current = settings.db ?? 0
        for db in dbs {
            if db != current {  // db0 alone needs no SELECT (nor the right to it)
                let select = try client.command(["SELECT", String(db)])
                if let error = select.errorText {
                    throw client.serverError("SELECT \(db) (database \(db) holds keys and a logical backup reads every database: grant +select)", error)
                }
                current = db
            }
            var seen = Set<KeyHash>()
            var cursor = "0"
            var wroteSelect = false
            repeat {
                try host.checkCancelled()
                let reply = try client.command(["SCAN", cursor, "COUNT", String(Self.batch)])
                if let error = reply.errorText { throw refusal("SCAN", error, client) }
                guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].text,
                      case .array(let items?) = parts[1] else {
                    throw RedisError(CAIRN_IO, "Redis at \(settings.address) answered SCAN with something that is not a cursor and a key list")
                }
                cursor = next
                var keys: [[UInt8]] = []
                for item in items {
                    guard case .bulk(let key?) = item else { continue }
                    if seen.insert(KeyHash(key)).inserted { keys.append(key) }
                }
                guard !keys.isEmpty else { continue }
                var commands: [[[UInt8]]] = []
                commands.reserveCapacity(keys.count * 2)
                for key in keys {
                    commands.append([Array("DUMP".utf8), key])
                    commands.append([Array("PTTL".utf8), key])
                }
                let replies = try client.pipeline(commands)
                let readAt = nowMilliseconds()
                for (index, key) in keys.enumerated() {
                    let dumped = replies[2 * index], ttl = replies[2 * index + 1]
                    if let error = dumped.errorText { throw refusal("DUMP", error, client) }
                    if let error = ttl.errorText { throw refusal("PTTL", error, client) }
                    guard case .bulk(let payload?) = dumped, case .integer(let pttl) = ttl, pttl != -2 else {
                        totals.vanished += 1  // deleted or expired between SCAN and DUMP
                        continue
                    }
                    let parsed = try Self.split(payload, key: key, address: settings.address)
                    if let version, parsed.version != version {
                        throw RedisError(CAIRN_INVALID, "the DUMP payload of a key in db\(db) at \(settings.address) carries RDB version \(parsed.version), "
                                         + "but the backup's RDB is version \(version) (Redis \(serverVersion)): a file mixing them would not load; "
                                         + "refusing the logical backup (is the server's redis_version what it really runs?)")
                    }
                    if version == nil { version = parsed.version }
                    try header(parsed.version)
                    if !wroteSelect {
                        wroteSelect = true
                        writer.put([0xFE])
                        writer.length(UInt64(db))
                    }
                    if pttl >= 0 {
                        writer.put([0xFC])
                        writer.put(littleEndian: UInt64(readAt + pttl))
                    }
                    writer.put([payload[0]])
                    writer.string(key)
                    writer.put(payload[1 ..< payload.count - 10])
                    totals.keys += 1
                    if writer.pending >= Self.flushAt {
                        try writer.flush()
                        host.progress(writer.written, 0, "dump.rdb")
                    }
                }
            } while cursor != "0"
        }
        guard let final = version else {
            throw RedisError(CAIRN_IO, "no RDB version for \(settings.address): its redis_version '\(serverVersion)' is not a release Cairn knows and it has no keys to DUMP")
        }
        try header(final)
        writer.put([0xFF])
        try writer.flush()
        try writer.trailer()
        try sink.end()
        totals.bytes = writer.written
        try sink.fact("rdb_method", json: JSONText.quote("logical"))
        try sink.fact("point_in_time", json: "false")
        try sink.fact("rdb_version", json: String(final))
        try sink.fact("rdb_bytes", json: String(totals.bytes))
        try sink.fact("logical_keys", json: String(totals.keys))
        try sink.fact("logical_vanished", json: String(totals.vanished))
        host.log(CAIRN_LOG_INFO, "logical RDB of \(settings.address): \(totals.keys) keys, \(totals.bytes) bytes, RDB version \(final); "
                 + "\(totals.vanished) keys vanished while being read (not point-in-time)")
    }

    /// The databases INFO keyspace names (db0, db3...), in order.
    private func databases(_ client: RespClient) throws(RedisError) -> [Int] {
        let keyspace = try client.info("keyspace")
        return keyspace.keys.compactMap { $0.hasPrefix("db") ? Int($0.dropFirst(2)) : nil }.sorted()
    }

    /// FUNCTION DUMP's libraries as RDB records (FUNCTION2 opcodes), or nothing when the server
    /// has none or refuses: functions are not keys, and a backup of keys is still worth having.
    private func functionLibraries(_ client: RespClient, version: inout Int?) throws(RedisError) -> [UInt8] {
        let reply = try client.command(["FUNCTION", "DUMP"])
        if let error = reply.errorText {
            component.host.log(CAIRN_LOG_INFO, "FUNCTION DUMP refused at \(component.settings.address) (\(error)): the backup holds keys, not functions")
            return []
        }
        guard case .bulk(let payload?) = reply else { return [] }
        let parsed = try Self.split(payload, key: nil, address: component.settings.address)
        if let expected = version, parsed.version != expected {
            throw RedisError(CAIRN_INVALID, "FUNCTION DUMP at \(component.settings.address) carries RDB version \(parsed.version), not the \(expected) its release writes: refusing the logical backup")
        }
        version = parsed.version
        return Array(payload[0 ..< payload.count - 10])
    }

    /// A DUMP payload is <type><value><RDB version, 2 bytes LE><CRC64 of all before, 8 bytes LE>.
    static func split(_ payload: [UInt8], key: [UInt8]?, address: String) throws(RedisError) -> (version: Int, crc: UInt64) {
        let what = key == nil ? "FUNCTION DUMP" : "a DUMP payload"
        guard payload.count >= (key == nil ? 10 : 11) else {
            throw RedisError(CAIRN_CORRUPT, "\(what) from \(address) is \(payload.count) bytes: too short to be one")
        }
        let body = payload.count - 8
        let stored = payload[body...].reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
        let computed = payload.withUnsafeBytes { CRC64.update(0, UnsafeRawBufferPointer(rebasing: $0[..<body])) }
        guard stored == computed else {
            throw RedisError(CAIRN_CORRUPT, "\(what) from \(address) fails its CRC64 (stored \(hex(stored)), computed \(hex(computed))): damaged in transit")
        }
        return (Int(payload[body - 2]) | Int(payload[body - 1]) << 8, stored)
    }

    private func refusal(_ command: String, _ error: String, _ client: RespClient) -> RedisError {
        if error.hasPrefix("NOPERM") {
            let user = component.settings.username ?? "default"
            return RedisError(CAIRN_DENIED, "user '\(user)' may not run \(command) at \(component.settings.address) (\(error)): a logical backup needs SCAN, DUMP, PTTL and INFO on every key; "
                              + "grant them with ACL SETUSER \(user) +scan +dump +pttl +info +select ~*")
        }
        return client.serverError(command, error)
    }

    /// The RDB as it is written: buffered into chunks, CRC64 kept over everything sent.
    struct Writer {
        let sink: EntrySink
        let host: PluginHost
        var out: [UInt8] = []
        var crc: UInt64 = 0
        var written: UInt64 = 0
        var pending: Int { out.count }

        init(sink: EntrySink, host: PluginHost) {
            self.sink = sink
            self.host = host
            out.reserveCapacity(LogicalRDB.flushAt + 64 * 1024)
        }

        mutating func put<C: Collection<UInt8>>(_ bytes: C) { out.append(contentsOf: bytes) }

        mutating func put(littleEndian value: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }

        /// RDB length encoding: 6, 14, 32 or 64 bits.
        mutating func length(_ value: UInt64) {
            if value < 1 << 6 {
                out.append(UInt8(value))
            } else if value < 1 << 14 {
                out += [0x40 | UInt8(value >> 8), UInt8(truncatingIfNeeded: value)]
            } else if value <= UInt64(UInt32.max) {
                out.append(0x80)
                for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
            } else {
                out.append(0x81)
                for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
            }
        }

        mutating func string(_ bytes: [UInt8]) {
            length(UInt64(bytes.count))
            out += bytes
        }

        mutating func aux(_ name: String, _ value: String) {
            out.append(0xFA)
            string(Array(name.utf8))
            string(Array(value.utf8))
        }

        mutating func flush() throws(RedisError) {
            guard !out.isEmpty else { return }
            crc = out.withUnsafeBytes { CRC64.update(crc, $0) }
            try withBytes(out) { raw throws(RedisError) in try sink.write(raw) }
            written += UInt64(out.count)
            out.removeAll(keepingCapacity: true)
        }

        /// The CRC64 of everything before it, little-endian, as Redis writes it.
        mutating func trailer() throws(RedisError) {
            put(littleEndian: crc)
            try withBytes(out) { raw throws(RedisError) in try sink.write(raw) }
            written += UInt64(out.count)
            out.removeAll()
        }
    }
}

/// 128 bits of a key (CRC64 and FNV-1a 64): enough to tell SCAN's repeats from new keys
/// without keeping the keys themselves.
struct KeyHash: Hashable {
    let a: UInt64, b: UInt64
    init(_ key: [UInt8]) {
        a = CRC64.checksum(key)
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        b = h
    }
}

/// "0010" for 10: the RDB header's four version digits.
func format4(_ value: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

func nowMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
