import Glibc

/// The hidden name an object is written under until it is complete:
/// `.<name>.partial-<host>-<pid>-<random>`. Host and pid say who writes it, so a later run can
/// tell a dead writer's leftover (removable) from a live one's (never touched).
enum PartialName {
    static let marker = ".partial-"

    static func make(stem: String) -> String {
        ".\(stem)\(marker)\(localHost)-\(getpid())-\(Posix.randomSuffix())"
    }

    /// Who wrote a partial file: its host (nil in names from before hosts were recorded) and pid;
    /// nil when `name` is not a partial file's.
    static func writer(of name: String) -> (host: String?, pid: Int32)? {
        guard name.hasPrefix("."), let marker = name.ranges(of: marker).last else { return nil }
        var fields = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 2 else { return nil }
        fields.removeLast()  // the random part
        guard let pid = Int32(fields.removeLast()), pid > 0 else { return nil }
        return (fields.isEmpty ? nil : fields.joined(separator: "-"), pid)
    }

    /// This machine's name, kept to the characters a hostname may have, so the fields stay apart.
    static let localHost: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let kept = String(name.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "." || $0 == "-") })
        return kept.isEmpty ? "localhost" : String(kept.prefix(63))
    }()
}
