import CairnCore
import CairnInterfaces
import Foundation

/// The rules every `ObjectStore` keeps (ObjectStore.swift), as one list of cases that every store
/// passes: the in-memory twin, the filesystem and S3 plugins, and any storage plugin through
/// `cairn plugins test`. Modelled on restic's backend test suite. Each case gets a key prefix of
/// its own, so cases can share one store; a broken rule throws a ConformanceFailure naming it.
public enum StoreConformance {
    public struct Case: Sendable {
        public let name: String
        let body: @Sendable (any ObjectStore, String) throws -> Void

        /// Runs the case against `store` under a fresh prefix.
        public func run(on store: any ObjectStore) throws {
            try body(store, "conformance-\(UUID().uuidString.prefix(8).lowercased())/")
        }
    }

    public static let cases: [Case] = [
        Case(name: "a committed object reads back whole, in any read size") { store, prefix in
            let data = randomData(3 << 20, seed: 1)
            try put(store, prefix + "a.tar.gz", data, chunk: 65_537)
            try conform(try read(store, prefix + "a.tar.gz", readSize: 10_000) == data, "3 MiB written in 65537-byte chunks read back different in 10000-byte reads")
            let size = try store.stat(key: prefix + "a.tar.gz")?.size
            try conform(size == UInt64(data.count), "stat gives size \(size.map(String.init) ?? "nil") for an object of \(data.count) bytes")
        },
        Case(name: "an empty object is an object") { store, prefix in
            try put(store, prefix + "empty", Data())
            try conform(try store.stat(key: prefix + "empty")?.size == 0, "stat of an empty object is not size 0")
            try conform(try read(store, prefix + "empty") == Data(), "an empty object read back bytes")
        },
        Case(name: "nothing is visible before commit") { store, prefix in
            let writer = try store.openWriter(key: prefix + "pending")
            try write(writer, Data("half".utf8), chunk: 2)
            try conform(try store.stat(key: prefix + "pending") == nil, "stat sees an object before commit")
            try conform(try store.list(prefix: prefix).isEmpty, "list shows an object before commit")
            try expectNotFound("opening an object before commit") { try store.openReader(key: prefix + "pending") }
            try writer.commit()
            try conform(try read(store, prefix + "pending") == Data("half".utf8), "the committed object reads back different")
        },
        Case(name: "abort leaves nothing, and may be called again") { store, prefix in
            let writer = try store.openWriter(key: prefix + "aborted")
            try write(writer, randomData(100_000, seed: 2), chunk: 4096)
            writer.abort()
            writer.abort()
            try conform(try store.stat(key: prefix + "aborted") == nil, "stat sees an aborted object")
            let left = try store.list(prefix: prefix).map(\.key)
            try conform(left.isEmpty, "list shows something after abort: \(left)")
        },
        Case(name: "commit replaces an existing object whole") { store, prefix in
            try put(store, prefix + "x", randomData(50_000, seed: 3))
            let shorter = Data("the new content".utf8)
            try put(store, prefix + "x", shorter)
            try conform(try read(store, prefix + "x") == shorter, "a shorter object over a longer one read back different (a tail left?)")
            try conform(try store.stat(key: prefix + "x")?.size == UInt64(shorter.count), "stat gives the old size after a replace")
        },
        Case(name: "a missing object: stat is nil, open is not found, remove succeeds") { store, prefix in
            try conform(try store.stat(key: prefix + "nothing") == nil, "stat of a missing key describes an object")
            try expectNotFound("opening a missing key") { try store.openReader(key: prefix + "nothing") }
            try store.remove(key: prefix + "nothing")
        },
        Case(name: "list returns every key under the prefix, sub-folders included, and nothing else") { store, prefix in
            for key in ["redis/prod/a.tar.gz", "redis/prod/b.tar.gz", "redis/prod/deep/c", "redis/production/d", "redis/prodx"] {
                try put(store, prefix + key, Data(key.utf8))
            }
            let listed = try store.list(prefix: prefix + "redis/prod/").map(\.key).sorted()
            let expected = ["redis/prod/a.tar.gz", "redis/prod/b.tar.gz", "redis/prod/deep/c"].map { prefix + $0 }
            try conform(listed == expected, "list of 'redis/prod/' gave \(listed.map { String($0.dropFirst(prefix.count)) }), expected a.tar.gz, b.tar.gz, deep/c")
            let sizes = try store.list(prefix: prefix + "redis/prod/").map(\.size)
            try conform(sizes.allSatisfy { $0 > 0 }, "list gives size 0 for objects that hold bytes")
            try conform(try store.list(prefix: prefix + "redis/").count == 5, "list of 'redis/' does not give all 5 keys")
            try conform(try store.list(prefix: prefix + "none/").isEmpty, "list of an empty prefix gives keys")
        },
        Case(name: "copy replaces the destination and keeps the source") { store, prefix in
            let first = randomData(70_000, seed: 4), second = Data("second".utf8)
            try put(store, prefix + "src", first)
            try store.copy(from: prefix + "src", to: prefix + "latest.tar.gz")
            try conform(try read(store, prefix + "latest.tar.gz") == first, "the copy reads back different")
            try put(store, prefix + "src2", second)
            try store.copy(from: prefix + "src2", to: prefix + "latest.tar.gz")
            try conform(try read(store, prefix + "latest.tar.gz") == second, "a copy over an existing object did not replace it whole")
            try conform(try read(store, prefix + "src") == first, "copy changed its source")
        },
        Case(name: "remove deletes") { store, prefix in
            try put(store, prefix + "gone", Data("x".utf8))
            try store.remove(key: prefix + "gone")
            try conform(try store.stat(key: prefix + "gone") == nil, "stat sees a removed object")
            try conform(try store.list(prefix: prefix).isEmpty, "list shows a removed object")
        },
        Case(name: "keys may hold spaces and non-ASCII letters") { store, prefix in
            let key = prefix + "folder with space/über_20261126_190102.tar.gz"
            try put(store, key, Data("ü".utf8))
            try conform(try store.list(prefix: prefix + "folder with space/").map(\.key) == [key], "list does not give the key with a space and 'ü' back as written")
            try conform(try read(store, key) == Data("ü".utf8), "the object under a key with a space and 'ü' reads back different")
        },
        Case(name: "a conditional write creates only what is absent and replaces only what is unchanged") { store, prefix in
            let key = prefix + "cairn.lock"
            let created: StoredObject?
            do { created = try store.putIf(key: key, data: Array("one".utf8), ifVersion: nil) } catch let error as StoreError where error.isUnsupported {
                throw Skipped("the store has no put_if (optional, ABI 1.1): it offers no lock across hosts")
            }
            guard let first = created else { throw ConformanceFailure("put_if with no version did not create an absent object") }
            try conform(first.etag != nil, "put_if describes the new object without an etag")
            try conform(try store.putIf(key: key, data: Array("two".utf8), ifVersion: nil) == nil, "put_if with no version created an object twice")
            try conform(try read(store, key) == Data("one".utf8), "a refused put_if changed the object")
            try conform(try store.stat(key: key)?.etag == first.etag, "stat's etag differs from the one put_if gave")
            guard let second = try store.putIf(key: key, data: Array("two".utf8), ifVersion: first.etag) else {
                throw ConformanceFailure("put_if with the current etag did not replace the object")
            }
            try conform(second.etag != first.etag, "the etag did not change with the content")
            try conform(try store.putIf(key: key, data: Array("three".utf8), ifVersion: first.etag) == nil, "put_if replaced an object with a stale etag")
            try conform(try read(store, key) == Data("two".utf8), "a refused put_if changed the object")
            try store.remove(key: key)
            try conform(try store.putIf(key: key, data: Array("four".utf8), ifVersion: second.etag) == nil, "put_if with an etag created an object that is gone")
        },
        Case(name: "the access check passes on a usable store") { store, _ in
            let results = try store.checkAccess()
            try conform(!results.isEmpty, "check_access reported no check")
            try conform(results.failures.isEmpty, "check_access failed on a usable store: \(results.failures.described)")
            try conform(results.allSatisfy { !$0.message.isEmpty }, "a check_access result has no message")
        },
    ]

    /// A case that does not apply to this store; `cairn plugins test` reports it as skipped.
    public struct Skipped: Error, CustomStringConvertible, Sendable {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    // MARK: Helpers

    public static func randomData(_ count: Int, seed: UInt64) -> Data {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    static func write(_ writer: any ObjectWriter, _ data: Data, chunk: Int) throws {
        var offset = 0
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            try data[offset..<end].withUnsafeBytes { try writer.write($0) }
            offset = end
        }
    }

    public static func put(_ store: any ObjectStore, _ key: String, _ data: Data, chunk: Int = 1 << 20) throws {
        let writer = try store.openWriter(key: key)
        do {
            try write(writer, data, chunk: chunk)
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    public static func read(_ store: any ObjectStore, _ key: String, readSize: Int = 1 << 20) throws -> Data {
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        var result = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try reader.read(into: buffer)
            if n == 0 { return result }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.prefix(n)))
        }
    }

    static func expectNotFound(_ what: String, _ body: () throws -> Any) throws {
        do {
            _ = try body()
        } catch let error as StoreError {
            try conform(error.isNotFound, "\(what) failed, but not as not-found: \(error)")
            return
        }
        throw ConformanceFailure("\(what) succeeded; expected not-found")
    }
}
