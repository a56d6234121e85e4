import CairnCore
/// A 512-byte tar header as read, with field accessors for ustar, GNU and v7 layouts.
struct TarHeaderBlock {
    let bytes: [UInt8]

    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }
    var typeflag: UInt8 { bytes[156] }
    /// POSIX ustar ("ustar\0"); GNU's "ustar  \0" uses the prefix area for other fields.
    var isPOSIXUstar: Bool { bytes[257..<263].elementsEqual("ustar\0".utf8) }

    /// The stored checksum matches the unsigned (or historic signed) sum of the header with
    /// the checksum field counted as spaces.
    var hasValidChecksum: Bool {
        guard let stored = number(148, 8) else { return false }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in bytes.enumerated() {
            let value = (148..<156).contains(index) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        return stored == unsigned || stored == signed
    }

    /// The member name: ustar prefix + "/" + name when present.
    var name: String {
        let name = field(0, 100)
        if isPOSIXUstar {
            let prefix = field(345, 155)
            if !prefix.isEmpty { return String(decoding: prefix + [0x2f] + name, as: UTF8.self) }
        }
        return String(decoding: name, as: UTF8.self)
    }

    var mode: Int64? { number(100, 8) }
    var size: Int64? { number(124, 12) }
    var mtime: Int64? { number(136, 12) }

    /// Bytes of a NUL-terminated field.
    func field(_ offset: Int, _ length: Int) -> [UInt8] {
        let slice = bytes[offset..<(offset + length)]
        return Array(slice.prefix { $0 != 0 })
    }

    /// An octal field (leading spaces, ended by NUL or space), or GNU base-256 when the high
    /// bit of the first byte is set. Nil when malformed.
    func number(_ offset: Int, _ length: Int) -> Int64? {
        let slice = bytes[offset..<(offset + length)]
        if slice.first! & 0x80 != 0 {
            // Base-256, two's complement; only non-negative values make sense here.
            guard slice.first! & 0x40 == 0 else { return nil }
            var value = Int64(slice.first! & 0x3f)
            for byte in slice.dropFirst() {
                guard value < Int64.max >> 8 else { return nil }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var digits = 0
        var index = slice.startIndex
        while index < slice.endIndex, slice[index] == 0x20 { index += 1 }
        while index < slice.endIndex {
            let byte = slice[index]
            if byte == 0 || byte == 0x20 { break }
            guard byte >= 0x30, byte <= 0x37, value < Int64.max >> 3 else { return nil }
            value = value << 3 | Int64(byte - 0x30)
            digits += 1
            index += 1
        }
        return digits > 0 || index > slice.startIndex || slice.first == 0 ? value : nil
    }
}
