import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The RDB over the replication protocol, as `redis-cli --rdb` takes it: REPLCONF capa eof,
/// REPLCONF rdb-only 1, SYNC, then `$EOF:<mark>` or `$<len>` framing. Streams into the sink in
/// constant memory and checks the RDB's header, EOF opcode and CRC64 before ending the entry.
struct NetworkRDB {
    let settings: Settings
    /// nil on a cluster's worker threads: no logs, progress or cancellation checks there.
    let host: PluginHost?
    static let chunk = 256 * 1024

    init(component: RedisComponent) { settings = component.settings; host = component.host }
    init(settings: Settings, host: PluginHost?) { self.settings = settings; self.host = host }

    /// Where the snapshot goes: the archive's entry, or a spool file.
    struct Output {
        var begin: (Int64) throws(RedisError) -> Void
        var write: (UnsafeRawBufferPointer) throws(RedisError) -> Void
        var end: () throws(RedisError) -> Void
    }

    struct Result { var version: Int; var bytes: UInt64; var framing: String }

    func run(client: RespClient, sink: EntrySink) throws(RedisError) {
        let output = Output(begin: { size throws(RedisError) in try sink.begin("dump.rdb", mtime: now(), size: size) },
                            write: { data throws(RedisError) in try sink.write(data) },
                            end: { () throws(RedisError) in try sink.end() })
        let result = try fetch(client: client, into: output)
        try sink.fact("rdb_version", json: String(result.version))
        try sink.fact("rdb_bytes", json: String(result.bytes))
        try sink.fact("sync_framing", json: JSONText.quote(result.framing))
    }

    private func log(_ level: cairn_log_level, _ message: String) { host?.log(level, message) }
    private func checkCancelled() throws(RedisError) { try host?.checkCancelled() }
    private func progress(_ done: UInt64, _ total: UInt64) { host?.progress(done, total, "dump.rdb") }

    func fetch(client: RespClient, into output: Output) throws(RedisError) -> Result {
        switch try client.configGet("repl-diskless-sync") {
        case .value(let value) where value == "no" && !settings.allowDiskSync:
            throw RedisError(CAIRN_INVALID, "refusing a network RDB backup of \(settings.address): " + RedisComponent.diskSyncRefusal)
        case .denied:
            log(CAIRN_LOG_INFO, "cannot read repl-diskless-sync (CONFIG not allowed); if the server syncs from disk it rewrites its own dump.rdb")
        default:
            break
        }
        for args in [["REPLCONF", "capa", "eof"], ["REPLCONF", "rdb-only", "1"]] {
            let reply = try client.command(args)
            // redis-cli shrugs this off and falls back to a disk SYNC; we do not.
            if let error = reply.errorText { throw refusal(args.joined(separator: " "), error) }
        }
        try client.send(Array("SYNC\r\n".utf8))
        log(CAIRN_LOG_INFO, "SYNC sent to \(settings.address); waiting for the snapshot")

        // Newlines are keepalives while the server forks and waits repl-diskless-sync-delay.
        var first: UInt8 = 10
        while first == 10 {
            try checkCancelled()
            guard let byte = try client.readByte() else {
                throw RedisError(CAIRN_IO, "Redis at \(settings.address) closed the connection before sending the snapshot")
            }
            first = byte
        }
        let header = [first] + (try client.readLine())
        let text = String(decoding: header, as: UTF8.self)
        if first == UInt8(ascii: "-") { throw refusal("SYNC", String(text.dropFirst())) }
        guard first == UInt8(ascii: "$") else {
            throw RedisError(CAIRN_IO, "Redis at \(settings.address) answered SYNC with '\(text.prefix(60))' instead of a bulk header")
        }
        var tail = CRCTail()
        let framing: String
        if text.hasPrefix("$EOF:") {
            let mark = Array(header.dropFirst(5))
            guard mark.count == 40 else { throw RedisError(CAIRN_IO, "Redis at \(settings.address) sent a bad EOF mark (\(mark.count) bytes, not 40)") }
            framing = "eof"
            try output.begin(CAIRN_SIZE_UNKNOWN)
            try streamUntilMark(client, mark, output, &tail)
        } else {
            guard let length = Int64(text.dropFirst()), length >= 0 else {
                throw RedisError(CAIRN_IO, "Redis at \(settings.address) sent a bad bulk length '\(text.prefix(60))'")
            }
            framing = "length"
            log(CAIRN_LOG_WARNING, "\(settings.address) sent a disk-based snapshot ($<len> framing): it rewrote its own dump.rdb")
            try output.begin(length)
            try streamLength(client, length, output, &tail)
        }
        let version = try Self.checkStreamed(tail, what: "the snapshot from \(settings.address)", host: host)
        try output.end()
        log(CAIRN_LOG_INFO, "transfer finished with success after \(tail.count) bytes (\(framing) framing)")
        return Result(version: version, bytes: tail.count, framing: framing)
    }

    private func refusal(_ command: String, _ error: String) -> RedisError {
        if error.hasPrefix("NOPERM") {
            let user = settings.username ?? "default"
            return RedisError(CAIRN_DENIED, "user '\(user)' may not run \(command) at \(settings.address) (\(error)): a network RDB backup needs REPLCONF and SYNC; "
                              + "grant them with ACL SETUSER \(user) +replconf +sync, or use mode: disk")
        }
        if error.hasPrefix("NOAUTH") {
            return RedisError(CAIRN_DENIED, "\(command) at \(settings.address) needs authentication (\(error)): set REDIS_PASSWORD / the 'password' setting")
        }
        if error.contains("unknown command") || error.contains("not allowed") {
            return RedisError(CAIRN_IO, "\(command) failed at \(settings.address): \(error): the server refuses replication, as managed Redis "
                              + "(ElastiCache, Memorystore, Redis Cloud) does; set method: logical for a key-by-key backup (not point-in-time)")
        }
        return RedisError(CAIRN_IO, "\(command) failed at \(settings.address): \(error) (network RDB backups need Redis 7.0+ for REPLCONF rdb-only)")
    }

    private func streamLength(_ client: RespClient, _ length: Int64, _ output: Output, _ tail: inout CRCTail) throws(RedisError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunk, alignment: 8)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return }
        var left = length
        while left > 0 {
            try checkCancelled()
            let n = try client.readRaw(into: base, capacity: Int(min(Int64(Self.chunk), left)))
            if n == 0 {
                throw RedisError(CAIRN_IO, "the snapshot stream from \(settings.address) ended early: the connection closed after \(length - left) of \(length) bytes received")
            }
            let data = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            tail.feed(data)
            try output.write(data)
            left -= Int64(n)
            progress(UInt64(length - left), UInt64(length))
        }
    }

    /// EOF framing: the payload ends with the 40-byte mark; hold back 40 bytes until we know.
    private func streamUntilMark(_ client: RespClient, _ mark: [UInt8], _ output: Output, _ tail: inout CRCTail) throws(RedisError) {
        let capacity = Self.chunk + 40
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
        defer { buffer.deallocate() }
        guard let base = buffer.baseAddress else { return }
        var held = 0
        while true {
            try checkCancelled()
            let n = try client.readRaw(into: base + held, capacity: capacity - held)
            if n == 0 {
                throw RedisError(CAIRN_IO, "the snapshot stream from \(settings.address) ended early: the connection closed after \(tail.count + UInt64(held)) bytes received, before the EOF mark")
            }
            let total = held + n
            let endsWithMark = total >= 40 && mark.withUnsafeBytes { m in m.baseAddress.map { memcmp(base + total - 40, $0, 40) == 0 } ?? false }
            let emit = max(0, total - 40)
            if emit > 0 {
                let data = UnsafeRawBufferPointer(rebasing: buffer[..<emit])
                tail.feed(data)
                try output.write(data)
                progress(tail.count, 0)
            }
            if endsWithMark { return }
            if emit > 0 { memmove(base, base + emit, total - emit) }
            held = total - emit
        }
    }

    /// The header, EOF opcode and CRC64 of a whole streamed RDB; returns its version.
    static func checkStreamed(_ tail: CRCTail, what: String, host: PluginHost?) throws(RedisError) -> Int {
        guard let version = tail.rdbVersion else {
            throw RedisError(CAIRN_CORRUPT, "\(what) is not an RDB file (no REDIS<version> header)")
        }
        guard tail.count >= 18, tail.lastCoveredByte == 0xFF, let stored = tail.storedCRC else {
            throw RedisError(CAIRN_CORRUPT, "\(what) is truncated: no EOF opcode before the CRC64 trailer (\(tail.count) bytes)")
        }
        if stored == 0 {
            host?.log(CAIRN_LOG_WARNING, "\(what) was saved with rdbchecksum no: its CRC64 is 0 and cannot be checked")
        } else if stored != tail.crc {
            throw RedisError(CAIRN_CORRUPT, "\(what) fails its CRC64: stored \(hex(stored)) at byte offset \(tail.count - 8), computed \(hex(tail.crc))")
        }
        return version
    }
}
