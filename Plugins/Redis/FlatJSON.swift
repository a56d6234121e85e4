import CCairnPlugin
import CairnPluginSupport

/// A JSON object of scalars and lists of scalars (the host's text for a map setting) as text:
/// a list's items come joined by newlines (`FlatJSON.items` splits them).
enum FlatJSON {
    static func items(_ value: String) -> [String] { value.split(separator: "\n").map(String.init) }

    static func object(_ json: String, what: String) throws(RedisError) -> [(String, String)] {
        var chars = Array(json.unicodeScalars)[...]
        func skip() { while let c = chars.first, c == " " || c == "\n" || c == "\t" || c == "\r" { chars.removeFirst() } }
        func bad() -> RedisError { RedisError(CAIRN_INVALID, "\(what) must be a mapping of names to text, numbers, true/false or lists of them") }
        func scalar() throws(RedisError) -> String {
            if chars.first == "\"" { return try string() }
            var word = String.UnicodeScalarView()
            while let c = chars.first, c != ",", c != "}", c != "]", c != " " { word.append(c); chars.removeFirst() }
            guard !word.isEmpty, word.first != "{", word.first != "[" else { throw bad() }
            return String(word)
        }
        func string() throws(RedisError) -> String {
            guard chars.first == "\"" else { throw bad() }
            chars.removeFirst()
            var out = String.UnicodeScalarView()
            while let c = chars.popFirst() {
                if c == "\"" { return String(out) }
                if c == "\\" {
                    guard let e = chars.popFirst() else { throw bad() }
                    switch e {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "u":
                        guard chars.count >= 4, let v = UInt32(String(String.UnicodeScalarView(chars.prefix(4))), radix: 16),
                              let s = Unicode.Scalar(v) else { throw bad() }
                        chars.removeFirst(4)
                        out.append(s)
                    default: out.append(e)
                    }
                } else {
                    out.append(c)
                }
            }
            throw bad()
        }
        skip()
        guard chars.popFirst() == "{" else { throw bad() }
        var result: [(String, String)] = []
        skip()
        if chars.first == "}" { return result }
        while true {
            skip()
            let key = try string()
            skip()
            guard chars.popFirst() == ":" else { throw bad() }
            skip()
            let value: String
            if chars.first == "[" {
                chars.removeFirst()
                var items: [String] = []
                skip()
                if chars.first == "]" { chars.removeFirst() } else {
                    while true {
                        skip()
                        items.append(try scalar())
                        skip()
                        guard let next = chars.popFirst() else { throw bad() }
                        if next == "]" { break }
                        guard next == "," else { throw bad() }
                    }
                }
                value = items.joined(separator: "\n")
            } else {
                value = try scalar()
            }
            result.append((key, value))
            skip()
            guard let next = chars.popFirst() else { throw bad() }
            if next == "}" { return result }
            guard next == "," else { throw bad() }
        }
    }
}
