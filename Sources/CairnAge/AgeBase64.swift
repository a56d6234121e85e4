/// The base64 of age headers: standard alphabet, no `=` padding, canonical only (RFC 4648 3.5);
/// anything else is refused, as the format requires.
enum AgeBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = Int8(i) }
        return table
    }()

    static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count * 4 + 2) / 3)
        var i = 0
        while i < data.count {
            let b0 = Int(data[i]), b1 = i + 1 < data.count ? Int(data[i + 1]) : 0, b2 = i + 2 < data.count ? Int(data[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[n >> 18 & 63]); out.append(alphabet[n >> 12 & 63])
            if i + 1 < data.count { out.append(alphabet[n >> 6 & 63]) }
            if i + 2 < data.count { out.append(alphabet[n & 63]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAlphabet(_ c: UInt8) -> Bool { values[Int(c)] >= 0 }

    /// nil for a character outside the alphabet, padding, an impossible length or non-zero unused bits.
    static func decode<S: Collection>(_ text: S) -> [UInt8]? where S.Element == UInt8 {
        let chars = Array(text)
        guard chars.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var acc = 0, bits = 0
        for c in chars {
            let v = values[Int(c)]
            guard v >= 0 else { return nil }
            acc = (acc << 6 | Int(v)) & 0xffffff
            bits += 6
            if bits >= 8 { bits -= 8; out.append(UInt8(acc >> bits & 0xff)) }
        }
        guard acc & ((1 << bits) - 1) == 0 else { return nil }  // non-canonical: stray low bits
        return out
    }
}
