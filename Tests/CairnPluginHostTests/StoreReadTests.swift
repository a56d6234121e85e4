import Foundation
import Testing
@testable import CairnCore
@testable import CairnInterfaces
@testable import CairnPluginHost
import CairnTestSupport

/// Store reads through a worker: the worker reads the next half area while cairn takes the one
/// before, so what arrives, and where a failure shows, must be exactly what the plugin's reads
/// give when it runs inside cairn.
@Suite("Store reads, in cairn and in a worker")
struct StoreReadTests {
    private static func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i * 7 + i / 251) }

    /// The fixture store (Tests/Fixtures/test_plugin.c), opened in `mode`.
    private static func open(_ mode: PluginIsolation.Mode, in dir: TemporaryDirectory) throws -> PluginStore {
        try StoreConformance.open(try PluginLoader.load(try buildPlugin(in: dir)), settings: [:], scratch: dir.url,
                                  isolation: PluginIsolation(mode: mode))
    }

    /// Reads up to `limit` bytes in `chunk`-sized calls; the bytes, and the error that ended it.
    private static func read(_ reader: any ObjectReader, chunk: Int, limit: Int = .max) -> (bytes: [UInt8], error: String?) {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        do {
            while bytes.count < limit {
                let want = min(chunk, limit - bytes.count)
                let n = try buffer.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(want))) }
                if n == 0 { break }
                bytes += buffer.prefix(n)
            }
        } catch {
            return (bytes, describe(error))
        }
        return (bytes, nil)
    }

    /// A whole object, read in `chunk`-sized calls.
    private static func read(_ key: String, from store: PluginStore, chunk: Int) throws -> (bytes: [UInt8], error: String?) {
        let reader = try store.openReader(key: key)
        defer { reader.close() }
        return read(reader, chunk: chunk)
    }

    private static func expectPattern(_ bytes: [UInt8], from start: Int = 0, count: Int) {
        #expect(bytes.count == count)
        let wrong = bytes.indices.first { bytes[$0] != pattern(start + $0) }
        #expect(wrong == nil, "byte \(start + (wrong ?? 0)) differs")
    }

    @Test(arguments: [PluginIsolation.Mode.inProcess, .process], [4_096, 262_144, 1 << 20, 3 << 20])
    func everyByteArrivesInOrder(mode: PluginIsolation.Mode, chunk: Int) throws {
        let dir = try TemporaryDirectory("reads")
        let store = try Self.open(mode, in: dir)
        for size in [0, 1, 524_288, 2_100_017] {
            let (bytes, error) = try Self.read("good/\(size)", from: store, chunk: chunk)
            #expect(error == nil)
            Self.expectPattern(bytes, count: size)
        }
    }

    /// A failure after bytes the worker read ahead reaches the caller after exactly those bytes.
    @Test(arguments: [PluginIsolation.Mode.inProcess, .process])
    func aFailingReadShowsAfterTheBytesBeforeIt(mode: PluginIsolation.Mode) throws {
        let dir = try TemporaryDirectory("reads-fail")
        let store = try Self.open(mode, in: dir)
        let (bytes, error) = try Self.read("bad/2500000", from: store, chunk: 262_144)
        Self.expectPattern(bytes, count: 2_500_000)
        #expect(error?.contains("the disk went away after 2500000 bytes") == true, "\(error ?? "no error")")
        #expect(error?.contains("teststore") == true)
    }

    /// A plugin claiming more bytes than the buffer holds is named, never believed.
    @Test(arguments: [PluginIsolation.Mode.inProcess, .process])
    func aReadClaimingMoreThanTheBufferIsRefused(mode: PluginIsolation.Mode) throws {
        let dir = try TemporaryDirectory("reads-liar")
        let store = try Self.open(mode, in: dir)
        let (bytes, error) = try Self.read("liar/100", from: store, chunk: 4_096)
        #expect(bytes.isEmpty)
        let claimed = mode == .process ? 1 << 19 : 4_096  // a worker asks its plugin for half an area
        #expect(error?.contains("teststore") == true && error?.contains("read 'liar/100'") == true, "\(error ?? "no error")")
        #expect(error?.contains("its read returned \(claimed + 1) bytes for a buffer of \(claimed)") == true, "\(error ?? "no error")")
    }

    /// Another call, or another reader, between two reads takes the read made ahead first: nothing
    /// is lost or handed to the wrong reader.
    @Test(arguments: [PluginIsolation.Mode.inProcess, .process])
    func callsBetweenReadsLoseNothing(mode: PluginIsolation.Mode) throws {
        let dir = try TemporaryDirectory("reads-interleaved")
        let store = try Self.open(mode, in: dir)
        let first = try store.openReader(key: "good/3000000")
        let second = try store.openReader(key: "good/1500000")
        let head = Self.read(first, chunk: 100_000, limit: 700_000)
        #expect(try store.list(prefix: "").isEmpty)
        let other = Self.read(second, chunk: 65_536)
        let rest = Self.read(first, chunk: 1 << 20)
        first.close()
        second.close()
        #expect(head.error == nil && other.error == nil && rest.error == nil)
        Self.expectPattern(head.bytes, count: 700_000)
        Self.expectPattern(other.bytes, count: 1_500_000)
        Self.expectPattern(rest.bytes, from: 700_000, count: 2_300_000)
    }

    /// A reader closed with a read still asked for ahead leaves the worker ready for the next call.
    @Test func closingMidObjectInAWorkerLeavesItUsable() throws {
        let dir = try TemporaryDirectory("reads-close")
        let store = try Self.open(.process, in: dir)
        let reader = try store.openReader(key: "good/4000000")
        _ = Self.read(reader, chunk: 300_000, limit: 600_000)
        reader.close()
        let (bytes, error) = try Self.read("good/10", from: store, chunk: 4_096)
        #expect(error == nil)
        Self.expectPattern(bytes, count: 10)
    }
}
