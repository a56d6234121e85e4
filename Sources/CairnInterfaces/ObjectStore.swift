import CairnCore
import CairnArchive
import Foundation

/// Where archives live: the local filesystem, S3, memory. Keys are `/`-separated paths
/// (StorageLayout). Every store passes the same conformance suite (Tests/CairnTestSupport/StoreConformance.swift),
/// which is the precise form of the rules below.
///
/// - A written object is invisible (to `stat`, `list`, `openReader`) until `commit`; `abort` or
///   a writer dropped without `commit` leaves nothing behind.
/// - `commit` replaces an existing object of the same key whole.
/// - `list` returns every object whose key starts with `prefix`, in any order, sub-folders included.
/// - `copy` replaces the destination whole; a reader of it sees the old or the new object, never a mix.
/// - `remove` of a missing key succeeds.
/// - Failures of the store itself are thrown as `StoreError`; a missing object is a `StoreError`
///   with `isNotFound` from `openReader`, and nil from `stat`.
/// - An instance is used by one thread at a time.
public protocol ObjectStore: AnyObject {
    /// Names the store in messages and in escalation evidence ("filesystem", "s3").
    var label: String { get }
    func openWriter(key: String) throws -> any ObjectWriter
    func openReader(key: String) throws -> any ObjectReader
    func list(prefix: String) throws -> [StoredObject]
    /// The object's facts, or nil when it does not exist.
    func stat(key: String) throws -> StoredObject?
    func copy(from source: String, to destination: String) throws
    func remove(key: String) throws
    /// Can this store be read, listed and written now? (the runbook's `aws s3 ls` step)
    func checkAccess() throws -> [CheckResult]
    /// Writes a small object only if `key` does not exist (`ifVersion` nil) or still has the etag
    /// `ifVersion`, as one atomic step for every writer on every host: what locks in the store
    /// are built on. nil when the condition did not hold (nothing was written); throws
    /// `StoreError.unsupported` for a store that cannot (a plugin built before ABI 1.1).
    func putIf(key: String, data: [UInt8], ifVersion: String?) throws -> StoredObject?
    /// Does this store encrypt the archives written through it (their names end in `.age`)?
    var encryptsArchives: Bool { get }
    /// Can this store read encrypted archives (an identity or passphrase is configured)?
    var canDecrypt: Bool { get }
}

extension ObjectStore {
    public var encryptsArchives: Bool { false }
    public var canDecrypt: Bool { false }

    /// The layout of a component's folder as new archives of `format` are named through this store.
    public func layout(component: String, environment: String, format: ArchiveFormat) -> StorageLayout {
        StorageLayout(component: component, environment: environment,
                      suffix: ArchiveSuffix(format: format, encrypted: encryptsArchives))
    }
}

/// An object being written; nothing is visible until `commit`.
public protocol ObjectWriter: ByteSink {
    var key: String { get }
    func commit() throws
    /// Discards the object. Safe to call more than once, and after `commit` (then it does nothing).
    func abort()
}

/// An object being read.
public protocol ObjectReader: ByteSource {
    var key: String { get }
    func close()
}

/// An object in a store.
public struct StoredObject: Equatable, Sendable {
    public var key: String
    public var size: UInt64
    public var modified: Date
    public var etag: String?
    /// Until when the store refuses to destroy the object (S3 Object Lock retention;
    /// `Date.distantFuture`: a hold with no date); nil when nothing stops a delete. `stat`
    /// reports it; `list` may not.
    public var lockedUntil: Date?

    public init(key: String, size: UInt64, modified: Date, etag: String? = nil, lockedUntil: Date? = nil) {
        self.key = key; self.size = size; self.modified = modified; self.etag = etag; self.lockedUntil = lockedUntil
    }
}

extension ObjectStore {
    /// The whole of a small object (a lock, a state record), refusing one larger than `limit`.
    public func readSmall(key: String, limit: Int = 16 << 20) throws -> Data {
        let reader = try openReader(key: key)
        defer { reader.close() }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
            guard data.count <= limit else {
                throw StoreError(store: label, operation: "read '\(key)'", reason: "too large",
                                 message: "more than \(limit) bytes, where a small record was expected")
            }
        }
    }
}
