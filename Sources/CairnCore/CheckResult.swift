/// One finding of a pre-check, access check or verification.
public struct CheckResult: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, warn, fail }
    /// Who checked: "directory:configs", "filesystem", "archive".
    public var source: String
    public var name: String
    public var status: Status
    public var message: String
    public var detail: JSONValue?

    public init(source: String, name: String, status: Status, message: String, detail: JSONValue? = nil) {
        self.source = source; self.name = name; self.status = status; self.message = message; self.detail = detail
    }
}

extension Array where Element == CheckResult {
    public var failures: [CheckResult] { filter { $0.status == .fail } }
    /// "source/name: message; ..." for error messages and escalation summaries.
    public var described: String { map { "\($0.source)/\($0.name): \($0.message)" }.joined(separator: "; ") }
}
