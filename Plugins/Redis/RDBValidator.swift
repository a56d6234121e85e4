import CCairnPlugin
import CairnPluginSupport

/// One finding of the validator, shaped like a report check.
struct Finding {
    var name: String
    var status: cairn_check_status
    var message: String
    var detail: String?
}

extension CheckReport {
    func add(_ finding: Finding) throws(RedisError) {
        try add(finding.name, finding.status, finding.message, detail: finding.detail)
    }
}

/// Streams an RDB file and checks it the way redis-check-rdb would, in constant memory: magic and
/// version, an opcode walk to EOF (values are skipped by their encoded lengths), and the CRC64
/// trailer. Every problem names the byte offset.
struct RDBValidator {
    /// The highest RDB version whose layout the walk knows (Redis 7.4).
    static let newestKnownVersion = 12

    struct Failure: Error { var offset: UInt64; var message: String }
    /// The walk met something it does not understand (a module type): not an error in the file.
    struct Unwalkable: Error { var offset: UInt64; var message: String }

    /// `read` fills the buffer and returns the count, 0 at the end; it throws for source errors.
    typealias ReadChunk = (UnsafeMutableRawBufferPointer) throws(RedisError) -> Int

    private let read: ReadChunk
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    private var position = 0
    private var filled = 0
    private var atEnd = false
    /// Bytes consumed by the walk so far: the offset of the next byte.
    private(set) var offset: UInt64 = 0
    private var tail = CRCTail()
    private var version = 0
    private(set) var keys: UInt64 = 0

    init(read: @escaping ReadChunk) { self.read = read }

    /// Validates everything `read` yields as `name` (the entry path for messages).
    static func validate(_ name: String, read: @escaping ReadChunk) throws(RedisError) -> (findings: [Finding], version: Int?) {
        var validator = RDBValidator(read: read)
        return try validator.run(name)
    }

    private mutating func run(_ name: String) throws(RedisError) -> (findings: [Finding], version: Int?) {
        var findings: [Finding] = []
        // Header.
        do {
            let header = try bytes(9, "reading the header")
            guard Array(header[0 ..< 5]) == Array("REDIS".utf8) else {
                throw Failure(offset: 0, message: "wrong signature: it does not start with \"REDIS\"")
            }
            guard let parsed = RDB.version(header), parsed >= 1 else {
                throw Failure(offset: 5, message: "bad RDB version field '\(String(decoding: header[5...], as: UTF8.self))'")
            }
            guard parsed <= Self.newestKnownVersion else {
                throw Failure(offset: 5, message: "RDB format version \(parsed) is newer than any this validator knows (up to \(Self.newestKnownVersion), Redis 7.4)")
            }
            version = parsed
        } catch let error as Failure {
            try drain()
            findings.append(Finding(name: "rdb.format", status: CAIRN_CHECK_FAIL,
                                    message: "\(name): \(error.message) (at byte offset \(error.offset))",
                                    detail: "{\"offset\":\(error.offset)}"))
            return (findings, nil)
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(CAIRN_ERROR, "\(name): \(error)")
        }

        // Walk.
        var walked = true
        do {
            try walk()
            let eofOffset = offset - 1
            try drain()
            let trailing = tail.count - (eofOffset + 1)
            if version >= 5 && trailing != 8 {
                throw Failure(offset: offset, message: trailing < 8
                    ? "truncated: the 8-byte CRC64 after the EOF opcode (at \(eofOffset)) is cut short"
                    : "\(trailing - 8) unexpected bytes after the EOF opcode and its CRC64")
            }
            findings.append(Finding(name: "rdb.format", status: CAIRN_CHECK_PASS,
                                    message: "\(name): RDB version \(version), \(keys) keys, EOF opcode at byte offset \(eofOffset)",
                                    detail: "{\"rdb_version\":\(version),\"keys\":\(keys),\"bytes\":\(tail.count)}"))
        } catch let failure as Failure {
            try drain()
            findings.append(Finding(name: "rdb.format", status: CAIRN_CHECK_FAIL,
                                    message: "\(name): \(failure.message) (at byte offset \(failure.offset) of \(tail.count))",
                                    detail: "{\"offset\":\(failure.offset),\"bytes\":\(tail.count)}"))
            walked = false
        } catch let stop as Unwalkable {
            try drain()
            findings.append(Finding(name: "rdb.format", status: CAIRN_CHECK_WARN,
                                    message: "\(name): not walked past byte offset \(stop.offset): \(stop.message); only the CRC64 is checked",
                                    detail: "{\"offset\":\(stop.offset)}"))
            walked = false
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(CAIRN_ERROR, "\(name): \(error)")
        }

        // Checksum.
        guard version >= 5 else {
            findings.append(Finding(name: "rdb.crc64", status: CAIRN_CHECK_WARN,
                                    message: "\(name): RDB version \(version) has no checksum", detail: nil))
            return (findings, version)
        }
        guard let stored = tail.storedCRC, tail.count >= 17 else {
            findings.append(Finding(name: "rdb.crc64", status: CAIRN_CHECK_FAIL,
                                    message: "\(name): too short (\(tail.count) bytes) to hold an EOF opcode and CRC64", detail: nil))
            return (findings, version)
        }
        if !walked, tail.lastCoveredByte != 0xFF {
            findings.append(Finding(name: "rdb.eof", status: CAIRN_CHECK_FAIL,
                                    message: "\(name): no EOF opcode (0xFF) at byte offset \(tail.count - 9): the file is truncated or damaged",
                                    detail: nil))
        }
        if stored == 0 {
            findings.append(Finding(name: "rdb.crc64", status: CAIRN_CHECK_WARN,
                                    message: "\(name): saved with checksum disabled (rdbchecksum no): the CRC64 trailer is 0, not verified",
                                    detail: nil))
        } else if stored != tail.crc {
            findings.append(Finding(name: "rdb.crc64", status: CAIRN_CHECK_FAIL,
                                    message: "\(name): CRC64 mismatch: stored \(hex(stored)) at byte offset \(tail.count - 8), computed \(hex(tail.crc)) over bytes 0..<\(tail.count - 8); the file is corrupt",
                                    detail: "{\"offset\":\(tail.count - 8),\"stored\":\"\(hex(stored))\",\"computed\":\"\(hex(tail.crc))\"}"))
        } else {
            findings.append(Finding(name: "rdb.crc64", status: CAIRN_CHECK_PASS,
                                    message: "\(name): CRC64 \(hex(stored)) matches", detail: nil))
        }
        return (findings, version)
    }

    // MARK: Reading

    private mutating func refill() throws(RedisError) {
        guard !atEnd else { return }
        let read = self.read
        let n = try withMutableBytes(&buffer) { raw throws(RedisError) in try read(raw) }
        if n <= 0 { atEnd = true; filled = 0; position = 0; return }
        let count = min(n, buffer.count)
        buffer.withUnsafeBytes { tail.feed(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        filled = count
        position = 0
    }

    /// Reads the rest of the stream so the CRC covers it.
    private mutating func drain() throws(RedisError) {
        offset += UInt64(filled - position)
        position = filled
        while !atEnd {
            try refill()
            offset += UInt64(filled)
            position = filled
        }
    }

    private mutating func byte(_ doing: String) throws -> UInt8 {
        if position == filled {
            try refill()
            if atEnd { throw Failure(offset: offset, message: "unexpected end of file while \(doing)") }
        }
        let value = buffer[position]
        position += 1
        offset += 1
        return value
    }

    private mutating func bytes(_ count: Int, _ doing: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for _ in 0 ..< count { out.append(try byte(doing)) }
        return out
    }

    private mutating func skip(_ count: UInt64, _ doing: String) throws {
        var left = count
        while left > 0 {
            if position == filled {
                try refill()
                if atEnd { throw Failure(offset: offset, message: "unexpected end of file while \(doing) (\(left) of \(count) bytes missing)") }
            }
            let n = Int(min(UInt64(filled - position), left))
            position += n
            offset += UInt64(n)
            left -= UInt64(n)
        }
    }

    // MARK: Encodings

    /// A length; `special` is set for the 11xxxxxx string encodings.
    private mutating func length(_ doing: String) throws -> (value: UInt64, special: Bool) {
        let at = offset
        let first = try byte(doing)
        switch first >> 6 {
        case 0: return (UInt64(first & 0x3f), false)
        case 1: return ((UInt64(first & 0x3f) << 8) | UInt64(try byte(doing)), false)
        case 3: return (UInt64(first & 0x3f), true)
        default:
            if first == 0x80 { return (try bigEndian(4, doing), false) }
            if first == 0x81 { return (try bigEndian(8, doing), false) }
            throw Failure(offset: at, message: "invalid length encoding 0x\(String(first, radix: 16)) while \(doing)")
        }
    }

    private mutating func bigEndian(_ count: Int, _ doing: String) throws -> UInt64 {
        var value: UInt64 = 0
        for _ in 0 ..< count { value = (value << 8) | UInt64(try byte(doing)) }
        return value
    }

    private mutating func plainLength(_ doing: String) throws -> UInt64 {
        let at = offset
        let (value, special) = try length(doing)
        if special { throw Failure(offset: at, message: "a string encoding where a length belongs while \(doing)") }
        return value
    }

    private mutating func string(_ doing: String) throws {
        let at = offset
        let (value, special) = try length(doing)
        guard special else { return try skip(value, doing) }
        switch value {
        case 0: try skip(1, doing)
        case 1: try skip(2, doing)
        case 2: try skip(4, doing)
        case 3:
            let compressed = try plainLength(doing)
            let uncompressed = try plainLength(doing)
            if uncompressed == 0 { throw Failure(offset: at, message: "LZF string with an uncompressed length of 0 while \(doing)") }
            try skip(compressed, doing)
        default:
            throw Failure(offset: at, message: "unknown string encoding \(value) while \(doing)")
        }
    }

    private mutating func repeated(_ doing: String, _ body: (inout RDBValidator) throws -> Void) throws {
        let count = try plainLength(doing)
        var index: UInt64 = 0
        while index < count {
            try body(&self)
            index += 1
        }
    }

    // MARK: The walk

    private mutating func walk() throws {
        while true {
            let at = offset
            let type = try byte("reading the next opcode or value type")
            switch type {
            case 0xFF: return
            case 0xFA: try string("reading an AUX name"); try string("reading an AUX value")
            case 0xFB: _ = try plainLength("reading RESIZEDB"); _ = try plainLength("reading RESIZEDB")
            case 0xFC: try skip(8, "reading EXPIRETIME_MS")
            case 0xFD: try skip(4, "reading EXPIRETIME")
            case 0xF8: _ = try plainLength("reading IDLE")
            case 0xF9: try skip(1, "reading FREQ")
            case 0xFE: _ = try plainLength("reading SELECTDB")
            case 0xF5: try string("reading a FUNCTION2 library")
            case 0xF6: throw Unwalkable(offset: at, message: "pre-release FUNCTION opcode 0xF6")
            case 0xF7: throw Unwalkable(offset: at, message: "module AUX data (opcode 0xF7)")
            default:
                try string("reading a key")
                keys += 1
                try value(type: type, at: at)
            }
        }
    }

    private mutating func value(type: UInt8, at: UInt64) throws {
        let doing = "reading a value of type \(type)"
        switch type {
        case 0: try string(doing)                                            // string
        case 1, 2: try repeated(doing) { try $0.string(doing) }             // list, set
        case 3: try repeated(doing) { v in                                  // zset (text scores)
            try v.string(doing)
            let n = try v.byte(doing)
            if n < 253 { try v.skip(UInt64(n), doing) }
        }
        case 4: try repeated(doing) { try $0.string(doing); try $0.string(doing) }  // hash
        case 5: try repeated(doing) { try $0.string(doing); try $0.skip(8, doing) } // zset, binary scores
        case 6, 7: throw Unwalkable(offset: at, message: "module value (type \(type))")
        case 9, 10, 11, 12, 13, 16, 17, 20: try string(doing)              // one encoded blob
        case 14: try repeated(doing) { try $0.string(doing) }               // quicklist of ziplists
        case 18: try repeated(doing) { _ = try $0.plainLength(doing); try $0.string(doing) } // quicklist 2
        case 15, 19, 21: try stream(type: type, doing)
        default: throw Failure(offset: at, message: "invalid object type \(type)")
        }
    }

    private mutating func stream(type: UInt8, _ doing: String) throws {
        let v2 = type >= 19, v3 = type >= 21
        try repeated(doing) { try $0.string(doing); try $0.string(doing) }   // listpack nodes
        for _ in 0 ..< 3 { _ = try plainLength(doing) }                      // length, last id
        if v2 { for _ in 0 ..< 5 { _ = try plainLength(doing) } }            // first id, max deleted, added
        try repeated(doing) { v in                                           // consumer groups
            try v.string(doing)
            _ = try v.plainLength(doing); _ = try v.plainLength(doing)
            if v2 { _ = try v.plainLength(doing) }
            try v.repeated(doing) { p in try p.skip(16 + 8, doing); _ = try p.plainLength(doing) }  // PEL
            try v.repeated(doing) { c in                                     // consumers
                try c.string(doing)
                try c.skip(v3 ? 16 : 8, doing)
                try c.repeated(doing) { try $0.skip(16, doing) }
            }
        }
    }
}

func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
