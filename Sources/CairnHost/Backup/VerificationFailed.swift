/// A stored archive read back and found damaged (a checksum that does not match, a truncated
/// stream, a file the component's validation rejects), as opposed to a store that could not be
/// read: escalation calls the first corruption and the second a storage problem.
public struct VerificationFailed: Error, CustomStringConvertible, Sendable {
    public var report: VerificationReport
    public var message: String
    public var description: String { message }
}
