/// The store itself failed (unreachable, denied, the object is missing): not the archive, not the
/// component. Escalation counts these as `storage_inaccessible`.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The store's label ("s3").
    public var store: String
    /// "open 'redis/prod/latest.tar.gz'", "list 'redis/prod/'".
    public var operation: String
    /// A short name for the kind of failure: "not found", "denied", "I/O error".
    public var reason: String
    /// The store's own words.
    public var message: String
    public var isNotFound: Bool

    public init(store: String, operation: String, reason: String, message: String, isNotFound: Bool = false) {
        self.store = store; self.operation = operation; self.reason = reason; self.message = message; self.isNotFound = isNotFound
    }

    public static func notFound(store: String, operation: String, key: String) -> StoreError {
        StoreError(store: store, operation: operation, reason: "not found", message: "no object '\(key)'", isNotFound: true)
    }

    public var description: String { "\(store): \(operation) failed (\(reason)): \(message)" }
}
