import CairnCore
import Foundation
import Testing
@testable import CairnAge
import CairnTestSupport

/// Every kind of damage gets its own error, and no byte of a damaged chunk is returned.
struct AgeDamageTests {
    let mine = AgeIdentity(), other = AgeIdentity()
    let plain = TestData.random(3 * 65_536 + 500, seed: 5)

    /// Encrypted to `other` first, then `mine`: `mine` unwraps the second stanza.
    func file() throws -> Data { try Age.encrypt(plain, .recipients([other.recipient, mine.recipient])) }
    var keys: AgeDecryptionKeys { AgeDecryptionKeys(identities: [mine]) }

    func headerLength(_ data: Data) -> Int {
        let text = Array(data)
        let mac = text.indices.first { text[$0] == 0x0A && text[($0 + 1)...].starts(with: Array("--- ".utf8)) }!
        return text[(mac + 1)...].firstIndex(of: 0x0A)! + 1
    }

    func flipped(_ data: Data, at index: Int, to value: UInt8? = nil) -> Data {
        var copy = data
        copy[index] = value ?? (copy[index] ^ 0x01)
        return copy
    }

    func failure(_ data: Data, _ keys: AgeDecryptionKeys? = nil) -> AgeError? {
        do { _ = try Age.decrypt(data, keys ?? self.keys); return nil } catch { return error as? AgeError }
    }

    @Test func theUndamagedFileDecrypts() throws {
        #expect(try Age.decrypt(file(), keys) == plain)
    }

    @Test func wrongIdentity() throws {
        #expect(failure(try file(), AgeDecryptionKeys(identities: [AgeIdentity()])) == .noMatchingIdentity(stanzas: ["X25519", "X25519"], identities: 1))
    }

    @Test func truncated() throws {
        let data = try file()
        let header = headerLength(data)
        // Cut at a chunk boundary: the chunk before the cut is whole but not final.
        let boundary = data.prefix(header + 16 + 2 * (65_536 + 16))
        guard case .truncated(let why) = failure(boundary) else { Issue.record("\(String(describing: failure(boundary)))"); return }
        #expect(why.contains("not the final chunk"))
        // Cut inside a chunk.
        let inside = data.prefix(data.count - 100)
        #expect(failure(inside) == .lastChunkUnreadable(index: 3, offset: UInt64(header + 16 + 3 * (65_536 + 16))))
        // Cut inside the header and before the nonce.
        guard case .truncated = failure(data.prefix(header - 10)) else { Issue.record("header cut"); return }
        guard case .truncated = failure(data.prefix(header + 5)) else { Issue.record("nonce cut"); return }
    }

    @Test func flippedByteInTheHeader() throws {
        let data = try file()
        // The first stanza (addressed to `other`): `mine` still unwraps the file key, and the MAC
        // catches the change.
        let firstStanzaShare = Array(data).firstRange(of: Array("-> X25519 ".utf8))!.upperBound + 5
        // Another base64 letter, whatever the random share holds there (x ^ 1 may leave the alphabet).
        let other = data[firstStanzaShare] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(failure(flipped(data, at: firstStanzaShare, to: other)) == .headerMACMismatch)
        // The version line.
        #expect(failure(flipped(data, at: 20, to: UInt8(ascii: "2"))) == .unsupportedVersion("v2"))
        #expect(failure(flipped(data, at: 0)) == .notAgeFile)
        // A character that is not base64 in a stanza body.
        let body = Array(data).firstIndex(of: 0x0A)! + 1
        let secondLine = Array(data)[body...].firstIndex(of: 0x0A)! + 1
        guard case .malformedHeader(line: 3, _) = failure(flipped(data, at: secondLine + 3, to: UInt8(ascii: "!"))) else {
            Issue.record("\(String(describing: failure(flipped(data, at: secondLine + 3, to: UInt8(ascii: "!")))))"); return
        }
    }

    @Test func flippedByteInTheMAC() throws {
        let data = try file()
        let header = headerLength(data)
        // The MAC's first character: another valid base64 letter, so only the MAC check can tell.
        let macStart = header - 44
        #expect(failure(flipped(data, at: macStart, to: data[macStart] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A"))) == .headerMACMismatch)
    }

    @Test func flippedByteInAPayloadChunk() throws {
        let data = try file()
        let header = headerLength(data)
        let chunk1 = header + 16 + (65_536 + 16)
        #expect(failure(flipped(data, at: chunk1 + 1000)) == .chunkDamaged(index: 1, offset: UInt64(chunk1)))
        // The nonce: every chunk's key changes, the first chunk fails.
        #expect(failure(flipped(data, at: header + 3)) == .chunkDamaged(index: 0, offset: UInt64(header + 16)))
        // No byte of a damaged chunk reaches the reader: what came before is whole chunks.
        let reader = AgeReader(source: DataByteSource(flipped(data, at: chunk1 + 1000)), keys: keys)
        var out = Data(), buffer = [UInt8](repeating: 0, count: 4096)
        do { while true { let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }; if n == 0 { break }; out.append(contentsOf: buffer[0..<n]) } } catch {}
        #expect(out == plain.prefix(65_536))
    }

    @Test func appendedData() throws {
        // After a full final chunk, the final flag shows where the file ended.
        let whole = try Age.encrypt(plain.prefix(2 * 65_536), .recipients([mine.recipient]))
        #expect(failure(whole + Data(repeating: 7, count: 10)) == .trailingData(offset: UInt64(whole.count)))
        // After a short final chunk, the appended bytes make that chunk fail.
        let data = try file()
        let last = headerLength(data) + 16 + 3 * (65_536 + 16)
        #expect(failure(data + Data(repeating: 7, count: 65_536 + 100)) == .chunkDamaged(index: 3, offset: UInt64(last)))
    }

    @Test func plainGzipIsNotAnAgeFile() throws {
        #expect(failure(Data([0x1f, 0x8b, 8, 0] + [UInt8](repeating: 0, count: 100))) == .notAgeFile)
    }
}

/// A store that fails while chunks are sealed in the background: the failure reaches the writer's
/// caller (at a later write or at finish), and stopping an abandoned writer ends its thread.
struct AgeWriterFailureTests {
    final class FailingSink: ByteSink {
        var written = 0
        let limit: Int
        init(limit: Int) { self.limit = limit }
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            written += bytes.count
            if written > limit { throw CairnError.failure("store full") }
        }
    }

    @Test func aSinkFailureReachesTheCaller() throws {
        let writer = try AgeWriter(sink: FailingSink(limit: 300_000), keys: .recipients([AgeIdentity().recipient]), background: true)
        let data = TestData.random(1_000_000, seed: 1)
        do {
            try data.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("store full"))
        }
    }

    @Test func stoppingAnAbandonedWriterEndsItsThread() throws {
        let sink = FailingSink(limit: .max)
        let writer = try AgeWriter(sink: sink, keys: .recipients([AgeIdentity().recipient]), background: true)
        try TestData.random(500_000, seed: 2).withUnsafeBytes { try writer.write($0) }
        writer.stop()
        let after = sink.written
        #expect(after < 500_000 + 1_000)
        #expect(throws: (any Error).self) { try TestData.random(200_000, seed: 3).withUnsafeBytes { try writer.write($0) } }
        #expect(sink.written == after)
    }
}
