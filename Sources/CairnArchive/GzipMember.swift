import CairnCore

/// The gzip member Cairn writes for each compressed chunk: a standard header whose FEXTRA field
/// (RFC 1952 2.3.1.1, subfield "Cr") records the member's total size and its uncompressed size,
/// as BGZF does. Every gzip reader skips the field; Cairn's reader uses it to take a member
/// whole and decompress it in one call (libdeflate), which streaming cannot match for speed.
/// The field is a hint, checked: a member whose real sizes differ from it is corrupt.
enum GzipMember {
    static let headerSize = 24
    static let trailerSize = 8
    static let overhead = headerSize + trailerSize
    private static let subfieldID: (UInt8, UInt8) = (UInt8(ascii: "C"), UInt8(ascii: "r"))

    /// Writes the header at `target` (headerSize bytes): magic, deflate, FEXTRA, no mtime
    /// (reproducible), no extra flags, OS = Unix, then the sizes.
    static func writeHeader(_ target: UnsafeMutableRawPointer, memberSize: Int, uncompressedSize: Int) {
        let bytes: [UInt8] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 12, 0, subfieldID.0, subfieldID.1, 8, 0]
        bytes.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: 16) }
        store(UInt32(memberSize), at: target + 16)
        store(UInt32(uncompressedSize), at: target + 20)
    }

    /// Writes the trailer at `target`: CRC-32 and size of the member's uncompressed data.
    static func writeTrailer(_ target: UnsafeMutableRawPointer, crc: UInt32, uncompressedSize: Int) {
        store(crc, at: target)
        store(UInt32(truncatingIfNeeded: uncompressedSize), at: target + 4)
    }

    /// The sizes a Cairn member header declares; nil when `header` (at least headerSize bytes)
    /// is any other gzip header, which is then read by streaming.
    static func declaredSizes(_ header: UnsafeRawBufferPointer) -> (member: Int, uncompressed: Int)? {
        guard header.count >= headerSize, header[0] == 0x1f, header[1] == 0x8b, header[2] == 8, header[3] == 4,
              header[10] == 12, header[11] == 0, header[12] == subfieldID.0, header[13] == subfieldID.1,
              header[14] == 8, header[15] == 0 else { return nil }
        return (Int(load(header, 16)), Int(load(header, 20)))
    }

    private static func store(_ value: UInt32, at target: UnsafeMutableRawPointer) {
        for i in 0..<4 { target.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * i)), toByteOffset: i, as: UInt8.self) }
    }

    private static func load(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}
