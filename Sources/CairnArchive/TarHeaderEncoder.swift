import CairnCore
/// Builds the header blocks for one member: a ustar header, preceded by a pax 'x' header when
/// the name, size or mtime does not fit ustar. Pax rather than GNU 'L'/base-256 because it is
/// the portable extension (POSIX.1-2001) and GNU tar, bsdtar and Python all read it.
enum TarHeaderEncoder {
    static let blockSize = 512
    /// Largest value of an 11-digit octal field: sizes up to 8 GiB - 1, mtimes up to year 2242.
    static let maxOctal11: Int64 = 0o77777777777

    static func headers(name: String, isDirectory: Bool, mode: UInt32, mtime: Int64, size: Int64) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let isASCII = nameBytes.allSatisfy { $0 < 0x80 }
        let split = isASCII ? ustarSplit(nameBytes) : nil
        var pax: [(key: String, value: String)] = []
        if split == nil { pax.append((key: "path", value: name)) }
        if size > maxOctal11 { pax.append((key: "size", value: String(size))) }
        if mtime < 0 || mtime > maxOctal11 { pax.append((key: "mtime", value: String(mtime))) }

        let ustarMtime = min(max(mtime, 0), maxOctal11)
        let type: UInt8 = isDirectory ? 0x35 : 0x30  // '5', '0'
        var out: [UInt8] = []
        if !pax.isEmpty {
            let data = PaxRecords.encode(pax)
            // Named inside the backup folder like GNU tar does, so a reader without pax
            // support still extracts nothing outside it.
            let paxName = fallbackSplit(Array(paxHeaderName(for: nameBytes).utf8))
            out += block(name: paxName.name, prefix: paxName.prefix, mode: 0o644, size: Int64(data.count),
                         mtime: ustarMtime, type: 0x78)  // 'x'
            out += data
            out += [UInt8](repeating: 0, count: padding(Int64(data.count)))
        }
        let fields = split ?? fallbackSplit(nameBytes)
        out += block(name: fields.name, prefix: fields.prefix, mode: mode & 0o7777,
                     size: size > maxOctal11 ? 0 : size, mtime: ustarMtime, type: type)
        return out
    }

    static func padding(_ size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }

    /// ustar stores long names as prefix (<= 155) + "/" + name (<= 100).
    static func ustarSplit(_ bytes: [UInt8]) -> (prefix: ArraySlice<UInt8>, name: ArraySlice<UInt8>)? {
        if bytes.count <= 100 { return (prefix: [], name: bytes[...]) }
        if bytes.count > 256 { return nil }
        // The split slash must leave a non-empty name, so a directory's trailing slash is no split point.
        for index in bytes.indices where bytes[index] == 0x2f && index <= 155 {
            let nameLength = bytes.count - index - 1
            if nameLength <= 100 && nameLength > 0 {
                return (prefix: bytes[..<index], name: bytes[(index + 1)...])
            }
        }
        return nil
    }

    /// A best-effort ASCII name for the ustar fields when pax carries the real one.
    private static func fallbackSplit(_ bytes: [UInt8]) -> (prefix: ArraySlice<UInt8>, name: ArraySlice<UInt8>) {
        let ascii = bytes.map { $0 < 0x80 ? $0 : 0x5f }  // '_'
        if let split = ustarSplit(ascii) { return split }
        return (prefix: [], name: ascii.suffix(100))
    }

    private static func paxHeaderName(for name: [UInt8]) -> String {
        var trimmed = name[...]
        while trimmed.last == 0x2f { trimmed = trimmed.dropLast() }
        let slash = trimmed.lastIndex(of: 0x2f)
        let directory = slash.map { String(decoding: trimmed[..<$0], as: UTF8.self) } ?? "."
        let base = String(decoding: trimmed[(slash.map { $0 + 1 } ?? trimmed.startIndex)...], as: UTF8.self)
        return "\(directory)/PaxHeaders/\(base)"
    }

    private static func block(name: ArraySlice<UInt8>, prefix: ArraySlice<UInt8>, mode: UInt32, size: Int64,
                              mtime: Int64, type: UInt8) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: blockSize)
        header.replaceSubrange(0..<name.count, with: name)
        putOctal(&header, Int64(mode), at: 100, width: 8)
        putOctal(&header, 0, at: 108, width: 8)   // uid
        putOctal(&header, 0, at: 116, width: 8)   // gid
        putOctal(&header, size, at: 124, width: 12)
        putOctal(&header, mtime, at: 136, width: 12)
        for i in 148..<156 { header[i] = 0x20 }   // checksum counts as spaces while summing
        header[156] = type
        header.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        header.replaceSubrange(263..<265, with: Array("00".utf8))
        putOctal(&header, 0, at: 329, width: 8)   // devmajor
        putOctal(&header, 0, at: 337, width: 8)   // devminor
        header.replaceSubrange(345..<(345 + prefix.count), with: prefix)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        putOctal(&header, checksum, at: 148, width: 7)  // six digits, NUL, then the space stays
        return header
    }

    /// Zero-padded octal in `width - 1` digits followed by NUL.
    private static func putOctal(_ header: inout [UInt8], _ value: Int64, at offset: Int, width: Int) {
        var v = value
        for i in stride(from: offset + width - 2, through: offset, by: -1) {
            header[i] = 0x30 + UInt8(v & 7); v >>= 3
        }
        header[offset + width - 1] = 0
    }
}
