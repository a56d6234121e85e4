import CCairnPlugin
import CairnPluginSupport
import Glibc

/// A failed store operation: the status for the host and a message for the operator. Messages
/// name the bucket and key and never contain credentials.
typealias S3Error = PluginError

/// Just enough XML for S3's responses: flat elements, text content, the five entities and
/// numeric character references. S3 never nests an element inside one of the same name.
enum XML {
    /// Inner text (still escaped) of every `<name>…</name>` in `text`, in order.
    static func elements(_ name: String, in text: Substring) -> [Substring] {
        var found: [Substring] = []
        let open = "<\(name)>", close = "</\(name)>"
        var rest = text
        while let start = rest.range(of: open) {
            let after = rest[start.upperBound...]
            guard let end = after.range(of: close) else { break }
            found.append(after[..<end.lowerBound])
            rest = after[end.upperBound...]
        }
        return found
    }

    /// The unescaped text of the first `<name>` element.
    static func first(_ name: String, in text: Substring) -> String? {
        let open = "<\(name)>", close = "</\(name)>"
        guard let start = text.range(of: open) else { return nil }
        let after = text[start.upperBound...]
        guard let end = after.range(of: close) else { return nil }
        return unescape(after[..<end.lowerBound])
    }

    static func first(_ name: String, in text: String) -> String? { first(name, in: text[...]) }

    static func unescape(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                var scalar: Unicode.Scalar?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init)
                }
                if let scalar { out.unicodeScalars.append(scalar) } else { out += rest[amp...semi] }
            }
            rest = rest[rest.index(after: semi)...]
        }
        out += rest
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        let n = Array(needle.utf8)
        guard let first = n.first else { return nil }
        let u = self.utf8
        var i = u.startIndex
        while i != u.endIndex {
            if u[i] == first {
                var j = i, k = 0
                while k < n.count, j != u.endIndex, u[j] == n[k] { j = u.index(after: j); k += 1 }
                if k == n.count { return i..<j }
            }
            i = u.index(after: i)
        }
        return nil
    }
}

/// S3 timestamps ("2026-11-26T19:01:02.000Z" in XML, RFC 1123 in Last-Modified) to milliseconds.
enum S3Time {
    /// "2026-12-05T20:51:44Z" for seconds since the epoch (UTC); `basic`: "20261205T205144Z".
    static func iso8601(_ seconds: Int64, basic: Bool = false) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let dash = basic ? "" : "-", colon = basic ? "" : ":"
        return "\(parts.tm_year + 1900)\(dash)\(two(parts.tm_mon + 1))\(dash)\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(colon)\(two(parts.tm_min))\(colon)\(two(parts.tm_sec))Z"
    }

    static func iso8601Milliseconds(_ text: String) -> Int64 {
        let digits = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int32($0) }
        guard digits.count >= 6 else { return 0 }
        var parts = tm()
        parts.tm_year = digits[0] - 1900
        parts.tm_mon = digits[1] - 1
        parts.tm_mday = digits[2]
        parts.tm_hour = digits[3]
        parts.tm_min = digits[4]
        parts.tm_sec = digits[5]
        let millis = digits.count > 6 ? Int64(digits[6]) : 0
        return Int64(timegm(&parts)) * 1000 + millis
    }

    static func httpDateMilliseconds(_ text: String) -> Int64 {
        // "Thu, 26 Nov 2026 20:51:44 GMT"
        let fields = text.split(whereSeparator: { $0 == " " || $0 == ":" || $0 == "," })
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count >= 7, let month = months.firstIndex(of: String(fields[2])),
              let day = Int32(fields[1]), let year = Int32(fields[3]), let hour = Int32(fields[4]),
              let minute = Int32(fields[5]), let second = Int32(fields[6]) else { return 0 }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = Int32(month)
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Int64(timegm(&parts)) * 1000
    }
}

/// `withUnsafeBytes` keeping the typed error (the standard one only rethrows `any Error`).
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(S3Error) -> R) throws(S3Error) -> R {
    let result: Result<R, S3Error> = array.withUnsafeBytes { bytes in
        Result { () throws(S3Error) -> R in try body(bytes) }
    }
    return try result.get()
}
