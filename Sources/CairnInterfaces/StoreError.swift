/// The store itself failed (unreachable, denied, the object is missing): not the archive, not the
/// component. Escalation counts these as `storage_inaccessible`.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure, as far as a caller acts on it (and as the "cairn.store" host table
    /// hands it on to plugins).
    public enum Kind: Sendable, Equatable { case notFound, denied, invalid, cancelled, failed }

    /// The store's label ("s3").
    public var store: String
    /// "open 'redis/prod/latest.tar.gz'", "list 'redis/prod/'".
    public var operation: String
    /// A short name for the kind of failure in messages: "not found", "denied", "I/O error".
    public var reason: String
    /// The store's own words.
    public var message: String
    public var kind: Kind

    public init(store: String, operation: String, reason: String, message: String, kind: Kind = .failed) {
        self.store = store; self.operation = operation; self.reason = reason; self.message = message; self.kind = kind
    }

    public static func notFound(store: String, operation: String, key: String) -> StoreError {
        StoreError(store: store, operation: operation, reason: "not found", message: "no object '\(key)'", kind: .notFound)
    }

    /// A store that cannot write conditionally: it offers no lock across hosts.
    public static func unsupported(store: String, operation: String) -> StoreError {
        StoreError(store: store, operation: operation, reason: "not supported",
                   message: "the store's plugin has no conditional write (put_if, plugin ABI 1.1): it offers no lock across hosts")
    }

    public var isUnsupported: Bool { reason == "not supported" }
    public var isNotFound: Bool { kind == .notFound }
    public var description: String { "\(store): \(operation) failed (\(reason)): \(message)" }
}
