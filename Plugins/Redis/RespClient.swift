import CCairnPlugin
import CairnPluginSupport
import Glibc

/// One RESP2 reply.
enum Reply {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)
    case array([Reply]?)

    var text: String? {
        switch self {
        case .simple(let s): return s
        case .bulk(let b?): return String(decoding: b, as: UTF8.self)
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    var errorText: String? {
        if case .error(let e) = self { return e }
        return nil
    }
}

/// A small blocking RESP client over one TCP connection, with connect and read timeouts. Replies
/// are bounded (length, nesting) so a hostile or broken server cannot make us allocate without limit.
final class RespClient {
    let fd: Int32
    let address: String
    /// Set once the TLS handshake is done: every byte then goes through it.
    private var tls: TLSSession?
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var start = 0
    private var end = 0
    /// The largest bulk reply accepted; a logical backup raises it for big keys' DUMP payloads.
    var maxBulk = 64 << 20

    /// Connects and authenticates (AUTH [user] password), then SELECTs `db` if given.
    static func connect(_ settings: Settings) throws(RedisError) -> RespClient {
        try connect(settings, host: settings.host, port: settings.port)
    }

    /// Connects to `host`:`port` (a Sentinel's answer, a cluster node) with the settings' TLS and
    /// credentials; a Sentinel (`sentinel: true`) gets `sentinel_password` alone, and no SELECT.
    static func connect(_ settings: Settings, host: String, port: UInt16, sentinel: Bool = false) throws(RedisError) -> RespClient {
        let address = Settings.address(host, port)
        let client = try RespClient(host: host, port: port, address: address,
                                    connectTimeout: settings.connectTimeout, readTimeout: settings.readTimeout)
        if let tls = settings.tls {
            // The handshake gets connect_timeout: a plain port never answers a ClientHello.
            client.setTimeouts(settings.connectTimeout)
            client.tls = try TLSSession(fd: client.fd, settings: tls, host: host, address: address)
            client.setTimeouts(settings.readTimeout)
        }
        if let password = sentinel ? settings.sentinelPassword : settings.password {
            var args = ["AUTH"]
            if !sentinel, let user = settings.username { args.append(user) }
            args.append(password)
            let reply = try client.command(args)
            if let error = reply.errorText {
                let who = sentinel ? "the Sentinel (sentinel_password)" : settings.username.map { "user '\($0)'" } ?? "the default user"
                if error.hasPrefix("WRONGPASS") || error.contains("invalid password") || error.contains("invalid username") {
                    throw RedisError(CAIRN_DENIED, "authentication failed at \(settings.address) for \(who): \(error) "
                                     + "(check REDIS_PASSWORD / the 'password' setting and the user name)")
                }
                throw RedisError(CAIRN_DENIED, "AUTH at \(settings.address) for \(who) was refused: \(error)")
            }
        }
        if !sentinel, let db = settings.db, db != 0 {
            let reply = try client.command(["SELECT", String(db)])
            if let error = reply.errorText { throw client.serverError("SELECT \(db)", error) }
        }
        return client
    }

    init(host: String, port: UInt16, address: String, connectTimeout: Int, readTimeout: Int) throws(RedisError) {
        self.address = address
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            let reason = gai_strerror(rc).map { String(cString: $0) } ?? "error \(rc)"
            throw RedisError(CAIRN_IO, "cannot resolve Redis host '\(host)': \(reason)")
        }
        defer { freeaddrinfo(first) }
        var lastError: Int32 = ECONNREFUSED
        var timedOut = false
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            node = info.pointee.ai_next
            let s = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
            if s < 0 { lastError = errno; continue }
            var ok = Glibc.connect(s, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
            if !ok && errno == EINPROGRESS {
                var pfd = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
                let n = poll(&pfd, 1, Int32(clamping: connectTimeout * 1000))
                if n == 1 {
                    var soError: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(s, SOL_SOCKET, SO_ERROR, &soError, &length)
                    ok = soError == 0
                    if !ok { lastError = soError }
                } else {
                    timedOut = n == 0
                    lastError = n == 0 ? ETIMEDOUT : errno
                }
            } else if !ok {
                lastError = errno
            }
            guard ok else { Glibc.close(s); continue }
            // Back to blocking with kernel timeouts: simple reads that cannot hang forever.
            let flags = fcntl(s, F_GETFL)
            _ = fcntl(s, F_SETFL, flags & ~Int32(O_NONBLOCK))
            var tv = timeval(tv_sec: readTimeout, tv_usec: 0)
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            fd = s
            return
        }
        let why = timedOut ? "no answer within \(connectTimeout) s (connect_timeout)" : PluginError.describe(errno: lastError)
        throw RedisError(CAIRN_IO, "cannot connect to Redis at \(address): \(why); check REDIS_URL / REDIS_HOST / REDIS_PORT and that the server is running")
    }

    deinit { Glibc.close(fd) }

    func setTimeouts(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    // MARK: Writing

    func send(_ bytes: [UInt8]) throws(RedisError) {
        var offset = 0
        if let tls {
            while offset < bytes.count {
                offset += try withBytes(bytes) { raw throws(RedisError) in
                    guard let base = raw.baseAddress else { return bytes.count }
                    return try tls.send(base + offset, bytes.count - offset)
                }
            }
            return
        }
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw RedisError(errno: errno, "writing to Redis at \(address)")
            }
            offset += n
        }
    }

    /// Sends one command as a RESP array of bulk strings and reads its reply.
    func command(_ args: [String]) throws(RedisError) -> Reply {
        var out: [UInt8] = []
        Self.encode(args.map { Array($0.utf8) }, into: &out)
        try send(out)
        return try readReply(depth: 0)
    }

    /// Sends several commands (binary-safe arguments, such as keys) in one write, then reads
    /// their replies in order: one round trip for a whole batch.
    func pipeline(_ commands: [[[UInt8]]]) throws(RedisError) -> [Reply] {
        var out: [UInt8] = []
        for args in commands { Self.encode(args, into: &out) }
        try send(out)
        var replies: [Reply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply(depth: 0)) }
        return replies
    }

    static func encode(_ args: [[UInt8]], into out: inout [UInt8]) {
        out += Array("*\(args.count)\r\n".utf8)
        for arg in args {
            out += Array("$\(arg.count)\r\n".utf8)
            out += arg
            out += [13, 10]
        }
    }

    // MARK: Reading

    /// Refills the buffer; returns the number of new bytes (0 at end of stream).
    private func fill() throws(RedisError) -> Int {
        if start == end { start = 0; end = 0 }
        if end == buffer.count {
            if start > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    guard let base = raw.baseAddress else { return }
                    memmove(base, base + start, end - start)
                }
                end -= start
                start = 0
            } else {
                throw RedisError(CAIRN_IO, "Redis at \(address) sent a line longer than \(buffer.count) bytes")
            }
        }
        if let tls {
            let n = try withMutableBytes(&buffer) { raw throws(RedisError) in
                guard let base = raw.baseAddress else { return 0 }
                return try tls.recv(base + end, raw.count - end)
            }
            end += n
            return n
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in
                Glibc.recv(fd, raw.baseAddress.map { $0 + end }, raw.count - end, 0)
            }
            if n >= 0 { end += n; return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw RedisError(CAIRN_IO, "Redis at \(address) sent nothing for the read timeout (read_timeout)")
            }
            throw RedisError(errno: errno, "reading from Redis at \(address)")
        }
    }

    /// Reads one byte, or nil at the end of the stream.
    func readByte() throws(RedisError) -> UInt8? {
        if start == end, try fill() == 0 { return nil }
        let byte = buffer[start]
        start += 1
        return byte
    }

    /// Reads a CRLF-terminated line without the CRLF.
    func readLine() throws(RedisError) -> [UInt8] {
        var scanned = start
        while true {
            while scanned + 1 < end {
                if buffer[scanned] == 13 && buffer[scanned + 1] == 10 {
                    let line = Array(buffer[start ..< scanned])
                    start = scanned + 2
                    return line
                }
                scanned += 1
            }
            let before = start
            if try fill() == 0 {
                throw RedisError(CAIRN_IO, "Redis at \(address) closed the connection mid-reply")
            }
            scanned -= before - start  // the buffer may have moved left
        }
    }

    /// Reads up to `capacity` bytes of raw payload: buffered bytes first, then the socket.
    /// Returns 0 at the end of the stream.
    func readRaw(into target: UnsafeMutableRawPointer, capacity: Int) throws(RedisError) -> Int {
        if start < end {
            let n = min(capacity, end - start)
            buffer.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                memcpy(target, base + start, n)
            }
            start += n
            return n
        }
        if let tls { return try tls.recv(target, capacity) }
        while true {
            let n = Glibc.recv(fd, target, capacity, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                throw RedisError(CAIRN_IO, "Redis at \(address) stalled: no data for the read timeout (read_timeout)")
            }
            throw RedisError(errno: errno, "reading from Redis at \(address)")
        }
    }

    private func readExact(_ count: Int) throws(RedisError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = try withMutableBytes(&out) { raw throws(RedisError) in
                guard let base = raw.baseAddress else { return 0 }
                return try readRaw(into: base + got, capacity: count - got)
            }
            if n == 0 { throw RedisError(CAIRN_IO, "Redis at \(address) closed the connection mid-reply") }
            got += n
        }
        return out
    }

    func readReply(depth: Int) throws(RedisError) -> Reply {
        guard depth < 16 else { throw RedisError(CAIRN_IO, "Redis at \(address) sent a reply nested too deeply") }
        let line = try readLine()
        guard let kind = line.first else { throw RedisError(CAIRN_IO, "Redis at \(address) sent an empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let value = Int64(rest) else { throw protocolError(line) }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length >= -1 else { throw protocolError(line) }
            guard length <= maxBulk else {
                throw RedisError(CAIRN_IO, "Redis at \(address) sent a reply of \(length) bytes, more than the \(maxBulk >> 20) MiB accepted")
            }
            if length == -1 { return .bulk(nil) }
            let data = try readExact(length)
            guard try readLine().isEmpty else { throw protocolError(line) }
            return .bulk(data)
        case UInt8(ascii: "*"):
            guard let count = Int(rest), count >= -1, count <= 1_000_000 else { throw protocolError(line) }
            if count == -1 { return .array(nil) }
            var items: [Reply] = []
            for _ in 0 ..< count { items.append(try readReply(depth: depth + 1)) }
            return .array(items)
        default:
            throw protocolError(line)
        }
    }

    private func protocolError(_ line: [UInt8]) -> RedisError {
        RedisError(CAIRN_IO, "Redis at \(address) sent something that is not RESP: '\(String(decoding: line.prefix(60), as: UTF8.self))'")
    }

    /// An error reply turned into a RedisError with a status that fits it.
    func serverError(_ what: String, _ error: String) -> RedisError {
        if error.hasPrefix("NOPERM") || error.hasPrefix("NOAUTH") {
            let hint = error.hasPrefix("NOAUTH") ? " (set REDIS_PASSWORD / the 'password' setting)" : ""
            return RedisError(CAIRN_DENIED, "\(what) refused by Redis at \(address): \(error)\(hint)")
        }
        // A replica or a restarted server answers LOADING until its dataset is in memory: transient.
        if error.hasPrefix("LOADING") {
            return RedisError(CAIRN_IO, "Redis at \(address) is still loading its dataset into memory (\(what): \(error)): retry later, once it has finished loading")
        }
        return RedisError(CAIRN_IO, "\(what) failed at Redis \(address): \(error)")
    }

    // MARK: Helpers for common commands

    /// INFO <section> as key/value pairs.
    func info(_ section: String) throws(RedisError) -> [String: String] {
        let reply = try command(["INFO", section])
        if let error = reply.errorText { throw serverError("INFO \(section)", error) }
        guard let text = reply.text else { throw RedisError(CAIRN_IO, "INFO \(section) at \(address) gave no text") }
        return Self.parseInfo(text)
    }

    static func parseInfo(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return result
    }

    /// CONFIG GET name: the value, or a `.denied` / `.failed` explanation when CONFIG is not allowed.
    enum ConfigReply { case value(String), missing, denied(String) }

    func configGet(_ name: String) throws(RedisError) -> ConfigReply {
        let reply = try command(["CONFIG", "GET", name])
        if let error = reply.errorText { return .denied(error) }
        guard case .array(let items?) = reply else { return .missing }
        var index = 0
        while index + 1 < items.count {
            if items[index].text?.lowercased() == name.lowercased(), let value = items[index + 1].text { return .value(value) }
            index += 2
        }
        return .missing
    }
}
