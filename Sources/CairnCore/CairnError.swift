import Foundation

/// Process exit codes (docs/exit-codes.md). Operators and CronJobs branch on them.
public enum ExitCode: Int32, Sendable {
    case success = 0
    case failure = 1
    case usage = 2
    case partial = 3
    case skipped = 75
}

/// An error meant for the operator: what went wrong, where, and how to fix it.
public struct CairnError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// Bad configuration, arguments, unknown names: the operator can fix it (exit 2).
        case usage
        /// The operation ran and failed (exit 1).
        case failure
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }

    public static func usage(_ message: String) -> CairnError { CairnError(.usage, message) }
    public static func failure(_ message: String) -> CairnError { CairnError(.failure, message) }

    public var description: String { message }
    public var exitCode: ExitCode { kind == .usage ? .usage : .failure }
}

/// Any error as one line for people; our own errors already read well.
public func describe(_ error: any Error) -> String {
    // Foundation's errors print as "Error Domain=..." by default; their localized text is better.
    let nsError = error as NSError
    if [NSCocoaErrorDomain, NSPOSIXErrorDomain].contains(nsError.domain) { return nsError.localizedDescription }
    return String(describing: error)
}
