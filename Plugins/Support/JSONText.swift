/// JSON text built and read by hand: plugins do not link Foundation, facts and check details are
/// small, and operation options are flat objects.
public enum JSONText {
    /// `text` as a quoted JSON string.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The string or bool value of `key` in a flat JSON object such as {"type":"both","drill":true}.
    public static func option(_ key: String, in json: String) -> String? {
        let needle = "\"\(key)\""
        guard let range = json.firstRange(of: needle) else { return nil }
        var rest = json[range.upperBound...].drop(while: { $0 == " " })
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop(while: { $0 == " " })
        if rest.first == "\"" {
            let body = rest.dropFirst()
            guard let close = body.firstIndex(of: "\"") else { return nil }
            return String(body[..<close])
        }
        let word = rest.prefix(while: { $0.isLetter || $0.isNumber })
        return word.isEmpty ? nil : String(word)
    }
}
