import CZlib

/// S3's additional checksum for uploads, CRC32 (what the AWS CLI sends by default). S3 checks
/// every part and object body against it and refuses one that changed on the way (BadDigest),
/// and a multipart upload declared with it gets a composite checksum from the parts' CRC32s
/// instead of a whole-object checksum S3-compatible servers compute after the last part.
enum S3Checksum {
    /// The header value: base64 of the body's CRC32 in big-endian order.
    static func crc32(_ bytes: UnsafeRawBufferPointer) -> String {
        var crc: UInt = CZlib.crc32(0, nil, 0)
        var rest = bytes
        while let base = rest.baseAddress, !rest.isEmpty {
            let n = min(rest.count, 1 << 30)  // zlib takes a 32-bit length
            crc = CZlib.crc32(crc, base.assumingMemoryBound(to: Bytef.self), uInt(n))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        let value = UInt32(truncatingIfNeeded: crc)
        return base64([UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                       UInt8(truncatingIfNeeded: value)])
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            let triple = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[Int(triple >> (18 - 6 * UInt32(position)) & 63)] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
