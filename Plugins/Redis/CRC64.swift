import CCairnPlugin
import Glibc

/// Redis' CRC-64 ("Jones"): reflected polynomial 0x95ac9329ac4bc9b5, init 0, no final xor.
/// crc64("123456789") == 0xe9c6d914c4b8d9ca.
public enum CRC64 {
    static let polynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    /// Slicing-by-8 tables, flattened: table k at [k * 256 ..< (k + 1) * 256]. Eight bytes per
    /// step instead of one makes validating a multi-GB RDB several times faster.
    static let tables: [UInt64] = {
        var t = [UInt64](repeating: 0, count: 8 * 256)
        for index in 0 ..< 256 {
            var crc = UInt64(index)
            for _ in 0 ..< 8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            t[index] = crc
        }
        for k in 1 ..< 8 {
            for index in 0 ..< 256 {
                let previous = t[(k - 1) * 256 + index]
                t[k * 256 + index] = (previous >> 8) ^ t[Int(previous & 0xff)]
            }
        }
        return t
    }()

    public static func update(_ crc: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var crc = crc
        tables.withUnsafeBufferPointer { t in
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                crc ^= UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                crc = t[7 * 256 + Int(crc & 0xff)] ^ t[6 * 256 + Int((crc >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((crc >> 16) & 0xff)] ^ t[4 * 256 + Int((crc >> 24) & 0xff)]
                    ^ t[3 * 256 + Int((crc >> 32) & 0xff)] ^ t[2 * 256 + Int((crc >> 40) & 0xff)]
                    ^ t[1 * 256 + Int((crc >> 48) & 0xff)] ^ t[Int(crc >> 56)]
                offset += 8
            }
            while offset < count {
                crc = t[Int(UInt8(truncatingIfNeeded: crc) ^ bytes[offset])] ^ (crc >> 8)
                offset += 1
            }
        }
        return crc
    }

    public static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt64 {
        Array(bytes).withUnsafeBytes { update(0, $0) }
    }
}

/// Follows a byte stream and keeps the last 8 bytes out of the CRC, so at the end the CRC covers
/// everything but the trailer, and the trailer is at hand. Also keeps the 9-byte header.
struct CRCTail {
    private(set) var crc: UInt64 = 0
    private(set) var count: UInt64 = 0
    private(set) var tail: [UInt8] = []
    private(set) var header: [UInt8] = []
    /// The last byte the CRC covers: the EOF opcode (0xFF) in a whole RDB.
    private(set) var lastCoveredByte: UInt8?

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if header.count < 9 { header += bytes.prefix(9 - header.count) }
        count &+= UInt64(bytes.count)
        if bytes.count >= 8 {
            crc = tail.withUnsafeBytes { CRC64.update(crc, $0) }
            crc = CRC64.update(crc, UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 8)]))
            if bytes.count > 8 { lastCoveredByte = bytes[bytes.count - 9] } else if let last = tail.last { lastCoveredByte = last }
            tail = Array(bytes[(bytes.count - 8)...])
        } else {
            tail += bytes
            if tail.count > 8 {
                let spill = tail.count - 8
                crc = tail.withUnsafeBytes { CRC64.update(crc, UnsafeRawBufferPointer(rebasing: $0[..<spill])) }
                lastCoveredByte = tail[spill - 1]
                tail.removeFirst(spill)
            }
        }
    }

    /// The stored trailer as a little-endian number (Redis writes it with memrev64ifbe).
    var storedCRC: UInt64? {
        guard tail.count == 8 else { return nil }
        return tail.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }

    /// The RDB version from "REDIS0010", or nil when the header is not an RDB header.
    var rdbVersion: Int? { RDB.version(header) }
}

enum RDB {
    static func version(_ header: [UInt8]) -> Int? {
        guard header.count >= 9, Array(header[0 ..< 5]) == Array("REDIS".utf8) else { return nil }
        var value = 0
        for byte in header[5 ..< 9] {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
}

/// Native action `crc64`: the Redis CRC64 of a text as 16 hex digits (a string, since JSON numbers
/// cannot carry 64 bits exactly). Lets operators and tests check the implementation against the
/// reference vector. The result is allocated with host->alloc; the host frees it.
@_cdecl("cairn_redis_crc64")
public func cairnRedisCRC64(_ host: UnsafePointer<cairn_host_api>?, _ text: UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard let host, let text, let alloc = host.pointee.alloc else { return nil }
    let value = CRC64.checksum(UnsafeRawBufferPointer(start: text, count: strlen(text)))
    let digits = String(hex(value).dropFirst(2))
    let bytes = Array(digits.utf8) + [0]
    guard let memory = alloc(host.pointee.host_ctx, bytes.count) else { return nil }
    let out = memory.bindMemory(to: CChar.self, capacity: bytes.count)
    for (index, byte) in bytes.enumerated() { out[index] = CChar(bitPattern: byte) }
    return out
}
