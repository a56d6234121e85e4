import CairnCore
import CairnInterfaces
import Foundation
import Testing

/// The rules every `ObjectStore` keeps (ObjectStore.swift), as checks that each store's test target
/// runs against its own store: the in-memory twin, the filesystem plugin, S3 on moto. Modelled on
/// restic's backend test suite: one list of checks, every store passes all of them.
public enum StoreConformance {
    public struct Check: CustomTestStringConvertible, Sendable {
        public let name: String
        let body: @Sendable (any ObjectStore, String) throws -> Void
        public var testDescription: String { name }
    }

    /// Each check gets a fresh key prefix of its own, so checks can share one store.
    public static let checks: [Check] = [
        Check(name: "a committed object reads back whole, in any read size") { store, prefix in
            let data = randomData(3 << 20, seed: 1)
            try put(store, prefix + "a.tar.gz", data, chunk: 65_537)
            #expect(try read(store, prefix + "a.tar.gz", readSize: 10_000) == data)
            #expect(try store.stat(key: prefix + "a.tar.gz")?.size == UInt64(data.count))
        },
        Check(name: "an empty object is an object") { store, prefix in
            try put(store, prefix + "empty", Data())
            #expect(try store.stat(key: prefix + "empty")?.size == 0)
            #expect(try read(store, prefix + "empty") == Data())
        },
        Check(name: "nothing is visible before commit") { store, prefix in
            let writer = try store.openWriter(key: prefix + "pending")
            try write(writer, Data("half".utf8), chunk: 2)
            #expect(try store.stat(key: prefix + "pending") == nil)
            #expect(try store.list(prefix: prefix).isEmpty)
            expectNotFound { try store.openReader(key: prefix + "pending") }
            try writer.commit()
            #expect(try read(store, prefix + "pending") == Data("half".utf8))
        },
        Check(name: "abort leaves nothing, and may be called again") { store, prefix in
            let writer = try store.openWriter(key: prefix + "aborted")
            try write(writer, randomData(100_000, seed: 2), chunk: 4096)
            writer.abort()
            writer.abort()
            #expect(try store.stat(key: prefix + "aborted") == nil)
            #expect(try store.list(prefix: prefix).isEmpty)
        },
        Check(name: "commit replaces an existing object whole") { store, prefix in
            try put(store, prefix + "x", randomData(50_000, seed: 3))
            let shorter = Data("the new content".utf8)
            try put(store, prefix + "x", shorter)
            #expect(try read(store, prefix + "x") == shorter)
            #expect(try store.stat(key: prefix + "x")?.size == UInt64(shorter.count))
        },
        Check(name: "a missing object: stat is nil, open is not found, remove succeeds") { store, prefix in
            #expect(try store.stat(key: prefix + "nothing") == nil)
            expectNotFound { try store.openReader(key: prefix + "nothing") }
            try store.remove(key: prefix + "nothing")
        },
        Check(name: "list returns every key under the prefix, sub-folders included, and nothing else") { store, prefix in
            for key in ["redis/prod/a.tar.gz", "redis/prod/b.tar.gz", "redis/prod/deep/c", "redis/production/d", "redis/prodx"] {
                try put(store, prefix + key, Data(key.utf8))
            }
            let listed = try store.list(prefix: prefix + "redis/prod/").map(\.key).sorted()
            #expect(listed == ["redis/prod/a.tar.gz", "redis/prod/b.tar.gz", "redis/prod/deep/c"].map { prefix + $0 })
            let sizes = try store.list(prefix: prefix + "redis/prod/").map(\.size)
            #expect(sizes.sorted() == [UInt64(17), 19, 19].sorted() || sizes.allSatisfy { $0 > 0 })
            #expect(try store.list(prefix: prefix + "redis/").count == 5)
            #expect(try store.list(prefix: prefix + "none/").isEmpty)
        },
        Check(name: "copy replaces the destination and keeps the source") { store, prefix in
            let first = randomData(70_000, seed: 4), second = Data("second".utf8)
            try put(store, prefix + "src", first)
            try store.copy(from: prefix + "src", to: prefix + "latest.tar.gz")
            #expect(try read(store, prefix + "latest.tar.gz") == first)
            try put(store, prefix + "src2", second)
            try store.copy(from: prefix + "src2", to: prefix + "latest.tar.gz")
            #expect(try read(store, prefix + "latest.tar.gz") == second)
            #expect(try read(store, prefix + "src") == first)
        },
        Check(name: "remove deletes") { store, prefix in
            try put(store, prefix + "gone", Data("x".utf8))
            try store.remove(key: prefix + "gone")
            #expect(try store.stat(key: prefix + "gone") == nil)
            #expect(try store.list(prefix: prefix).isEmpty)
        },
        Check(name: "keys may hold spaces and non-ASCII letters") { store, prefix in
            let key = prefix + "folder with space/über_20261126_190102.tar.gz"
            try put(store, key, Data("ü".utf8))
            #expect(try store.list(prefix: prefix + "folder with space/").map(\.key) == [key])
            #expect(try read(store, key) == Data("ü".utf8))
        },
        Check(name: "a conditional write creates only what is absent and replaces only what is unchanged") { store, prefix in
            let key = prefix + "cairn.lock"
            let first = try #require(try store.putIf(key: key, data: Array("one".utf8), ifVersion: nil))
            #expect(first.etag != nil)
            #expect(try store.putIf(key: key, data: Array("two".utf8), ifVersion: nil) == nil, "created twice")
            #expect(try read(store, key) == Data("one".utf8))
            #expect(try store.stat(key: key)?.etag == first.etag)
            let second = try #require(try store.putIf(key: key, data: Array("two".utf8), ifVersion: first.etag))
            #expect(second.etag != first.etag)
            #expect(try store.putIf(key: key, data: Array("three".utf8), ifVersion: first.etag) == nil, "replaced with a stale etag")
            #expect(try read(store, key) == Data("two".utf8))
            try store.remove(key: key)
            #expect(try store.putIf(key: key, data: Array("four".utf8), ifVersion: second.etag) == nil, "replaced what is gone")
        },
        Check(name: "the access check passes on a usable store") { store, _ in
            let results = try store.checkAccess()
            #expect(!results.isEmpty)
            #expect(results.failures.isEmpty, "\(results.failures.described)")
        },
    ]

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

    static func put(_ store: any ObjectStore, _ key: String, _ data: Data, chunk: Int = 1 << 20) throws {
        let writer = try store.openWriter(key: key)
        do {
            try write(writer, data, chunk: chunk)
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }

    static func read(_ store: any ObjectStore, _ key: String, readSize: Int = 1 << 20) throws -> Data {
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

    static func expectNotFound(_ body: () throws -> Any) {
        do {
            _ = try body()
            Issue.record("expected a not-found StoreError, got an object")
        } catch let error as StoreError {
            #expect(error.isNotFound, "\(error)")
        } catch {
            Issue.record("expected a StoreError, got \(error)")
        }
    }
}

extension StoreConformance.Check {
    /// Runs the check against `store` under a prefix of its own.
    public func run(on store: any ObjectStore) throws {
        try body(store, "conformance-\(UUID().uuidString.prefix(8).lowercased())/")
    }
}
