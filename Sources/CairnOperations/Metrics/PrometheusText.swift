import Foundation

/// The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then one sample per
/// line. What node_exporter's textfile collector and the Pushgateway read.
public struct PrometheusText {
    public enum Kind: String { case counter, gauge, histogram }

    private(set) public var text = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        text += "\(name)\(rendered) \(Self.number(value))\n"
    }

    /// A histogram's cumulative buckets, `_sum` and `_count` for one label set.
    public mutating func histogram(_ name: String, _ labels: [(String, String)], buckets: [Double], values: [Double]) {
        for bound in buckets {
            sample("\(name)_bucket", labels + [("le", Self.number(bound))], Double(values.filter { $0 <= bound }.count))
        }
        sample("\(name)_bucket", labels + [("le", "+Inf")], Double(values.count))
        sample("\(name)_sum", labels, values.reduce(0, +))
        sample("\(name)_count", labels, Double(values.count))
    }

    /// Label values escape backslash, double quote and newline (the format's only escapes).
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
