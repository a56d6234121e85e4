/// Bech32 (BIP 173), the text form of age keys: `age1…` recipients and `AGE-SECRET-KEY-1…`
/// identities. age keys are longer than BIP 173's 90 characters, so that limit is not applied.
enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let generator: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

    private static func polymod(_ values: [UInt8]) -> UInt32 {
        var check: UInt32 = 1
        for value in values {
            let top = check >> 25
            check = (check & 0x1ffffff) << 5 ^ UInt32(value)
            for i in 0..<5 where (top >> i) & 1 == 1 { check ^= generator[i] }
        }
        return check
    }

    private static func expand(_ hrp: [UInt8]) -> [UInt8] { hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 } }

    /// Regroups bits; decoding refuses leftover bits that are not zero padding.
    private static func convert(_ data: [UInt8], from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc = 0, bits = 0
        var out: [UInt8] = []
        let maxValue = (1 << to) - 1
        for value in data {
            acc = (acc << from) | Int(value)
            bits += from
            while bits >= to { bits -= to; out.append(UInt8((acc >> bits) & maxValue)) }
        }
        if pad {
            if bits > 0 { out.append(UInt8((acc << (to - bits)) & maxValue)) }
        } else if bits >= from || (acc << (to - bits)) & maxValue != 0 {
            return nil
        }
        return out
    }

    /// Lowercase Bech32 of `data` under `hrp` (lowercase).
    static func encode(hrp: String, data: [UInt8]) -> String {
        let h = Array(hrp.lowercased().utf8)
        let values = convert(data, from: 8, to: 5, pad: true)!
        let check = polymod(expand(h) + values + [0, 0, 0, 0, 0, 0]) ^ 1
        let checksum = (0..<6).map { UInt8((check >> (5 * (5 - $0))) & 31) }
        return hrp.lowercased() + "1" + String(decoding: (values + checksum).map { charset[Int($0)] }, as: UTF8.self)
    }

    /// The human-readable part (lowercase) and the data, or nil with the reason.
    static func decode(_ text: String) -> Result<(hrp: String, data: [UInt8]), Bech32Failure> {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 >= 33 && $0 <= 126 }) else { return .failure(.characters) }
        let lower = text.lowercased(), upper = text.uppercased()
        guard text == lower || text == upper else { return .failure(.mixedCase) }
        let chars = Array(lower.utf8)
        guard let separator = chars.lastIndex(of: UInt8(ascii: "1")), separator >= 1, chars.count - separator - 1 >= 6 else {
            return .failure(.shape)
        }
        var values: [UInt8] = []
        for c in chars[(separator + 1)...] {
            guard let index = charset.firstIndex(of: c) else { return .failure(.characters) }
            values.append(UInt8(index))
        }
        let hrp = Array(chars[..<separator])
        guard polymod(expand(hrp) + values) == 1 else { return .failure(.checksum) }
        guard let data = convert(Array(values.dropLast(6)), from: 5, to: 8, pad: false) else { return .failure(.padding) }
        return .success((String(decoding: hrp, as: UTF8.self), data))
    }
}

enum Bech32Failure: Error {
    case characters, mixedCase, shape, checksum, padding

    var reason: String {
        switch self {
        case .characters: return "it has characters Bech32 does not use"
        case .mixedCase: return "it mixes upper and lower case"
        case .shape: return "it is too short or has no '1' separator"
        case .checksum: return "its checksum is wrong (a typo, or a truncated copy)"
        case .padding: return "its data has invalid padding"
        }
    }
}
