import CairnCore
import Foundation

/// A store that keeps objects in memory: the in-memory twin of the filesystem and S3 stores, for
/// tests of everything above the store. It keeps the same rules (ObjectStore) and passes the same
/// conformance suite. Thread-safe.
public final class MemoryStore: ObjectStore, @unchecked Sendable {
    // @unchecked: `objects` is guarded by `lock`.
    public let label: String
    private var objects: [String: (data: Data, modified: Date)] = [:]
    /// Bumped by every write of a key: its etag.
    private var versions: [String: Int] = [:]
    private var nextVersion = 0
    private let lock = NSLock()
    /// Failures to inject: an operation name ("write", "read", "list", "copy", "remove", "stat",
    /// "commit", "check") maps to the error thrown the next time it runs.
    public var failures: [String: StoreError] = [:]
    /// Retention locks by key, as S3 Object Lock sets them: `stat` reports them and `remove`
    /// refuses a key locked until a later time, as S3 refuses to delete a locked version.
    private var locks: [String: Date] = [:]

    public init(label: String = "memory") { self.label = label }

    public func openWriter(key: String) throws -> any ObjectWriter {
        try injected("write", key)
        return Writer(store: self, key: key)
    }

    public func openReader(key: String) throws -> any ObjectReader {
        try injected("read", key)
        guard let object = locked({ objects[key] }) else {
            throw StoreError.notFound(store: label, operation: "open '\(key)'", key: key)
        }
        return DataReader(key: key, data: object.data)
    }

    public func list(prefix: String) throws -> [StoredObject] {
        try injected("list", prefix)
        return locked { objects.filter { $0.key.hasPrefix(prefix) } }
            .map { StoredObject(key: $0.key, size: UInt64($0.value.data.count), modified: $0.value.modified, etag: etag($0.key)) }
            .sorted { $0.key < $1.key }
    }

    public func stat(key: String) throws -> StoredObject? {
        try injected("stat", key)
        return locked { objects[key].map { StoredObject(key: key, size: UInt64($0.data.count), modified: $0.modified, etag: etag(key),
                                                        lockedUntil: locks[key]) } }
    }

    public func putIf(key: String, data: [UInt8], ifVersion: String?) throws -> StoredObject? {
        try injected("put_if", key)
        return locked {
            guard objects[key] == nil ? ifVersion == nil : (ifVersion != nil && etag(key) == ifVersion) else { return nil }
            store(key, Data(data), Date())
            return StoredObject(key: key, size: UInt64(data.count), modified: objects[key]!.modified, etag: etag(key))
        }
    }

    /// Under `lock`: the object and a new version of it.
    private func store(_ key: String, _ data: Data, _ modified: Date) {
        objects[key] = (data, modified)
        nextVersion += 1
        versions[key] = nextVersion
    }

    private func etag(_ key: String) -> String? { versions[key].map { "v\($0)" } }

    public func copy(from source: String, to destination: String) throws {
        try injected("copy", source)
        try locked {
            guard let object = objects[source] else {
                throw StoreError.notFound(store: label, operation: "copy '\(source)' to '\(destination)'", key: source)
            }
            store(destination, object.data, Date())
        }
    }

    public func remove(key: String) throws {
        try injected("remove", key)
        try locked {
            if let until = locks[key], until > Date() {
                throw StoreError(store: label, operation: "delete '\(key)'", reason: "locked",
                                 message: "the object is locked until \(until)", kind: .denied)
            }
            objects.removeValue(forKey: key)
            locks.removeValue(forKey: key)
        }
    }

    /// Locks `key` against deletion until `until` (what an S3 Object Lock retention date does).
    public func lock(key: String, until: Date) {
        locked { locks[key] = until }
    }

    public func checkAccess() throws -> [CheckResult] {
        try injected("check", "")
        return [CheckResult(source: label, name: "access", status: .pass, message: "memory store: \(locked { objects.count }) objects")]
    }

    /// The bytes of an object, for tests that damage or inspect what was stored.
    public func data(_ key: String) -> Data? { locked { objects[key]?.data } }
    /// Replaces an object's bytes as they are, bypassing the writer (a test's corruption).
    public func put(_ key: String, _ data: Data, modified: Date = Date()) { locked { store(key, data, modified) } }

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    private func injected(_ operation: String, _ key: String) throws {
        if let failure = locked({ failures.removeValue(forKey: operation) }) { throw failure }
    }

    private final class Writer: ObjectWriter {
        let store: MemoryStore
        let key: String
        private var buffer = Data()
        private var finished = false

        init(store: MemoryStore, key: String) { self.store = store; self.key = key }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard !finished else { throw StoreError(store: store.label, operation: "write '\(key)'", reason: "invalid", message: "write after commit or abort", kind: .invalid) }
            buffer.append(contentsOf: bytes)
        }

        func commit() throws {
            guard !finished else { return }
            finished = true
            try store.injected("commit", key)
            store.locked { store.store(key, buffer, Date()) }
        }

        func abort() { finished = true; buffer = Data() }
    }

    private final class DataReader: ObjectReader {
        let key: String
        private let source: DataByteSource
        init(key: String, data: Data) { self.key = key; source = DataByteSource(data) }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { try source.read(into: buffer) }
        func close() {}
    }
}
