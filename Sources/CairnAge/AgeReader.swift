import CairnCore
import Crypto
import Foundation

/// Decrypts an age v1 file as it is read. The header is read and checked on the first `read`
/// (so its errors arrive where the reader's do), then one 64 KiB chunk at a time is
/// authenticated before any of its bytes are returned. Throws `AgeError`.
///
/// With `prefetch`, the chunks after the header are read and decrypted on a thread of their own,
/// a few chunks ahead of the reader (whose gunzip and hashing run on one thread): decryption then
/// costs the reader no time when a core is free. `close` stops that thread.
public final class AgeReader: ByteSource, @unchecked Sendable {
    // @unchecked: after the header, the chunk state (input, counter...) belongs to the prefetch
    // thread alone; the queue and `stopped` are guarded by `condition`.
    static let sealedChunk = AgeWriter.chunkSize + 16
    /// Longer header lines are refused before they are buffered whole.
    static let maxLine = 64 * 1024
    static let maxHeader = 1 << 20

    private let source: any ByteSource
    private let keys: AgeDecryptionKeys
    private var input: [UInt8] = []
    private var inputStart = 0
    private var sourceEnded = false
    /// Bytes of the file before `input[inputStart]`.
    private var position: UInt64 = 0
    private var payloadKey: SymmetricKey?
    private var counter: UInt64 = 0
    private var done = false
    private var readBuffer = [UInt8](repeating: 0, count: 128 * 1024)

    private let prefetch: Bool
    private let condition = NSCondition()
    /// Decrypted chunks (or the error that ended the file) waiting for the reader; nil: the end.
    private var queue: [Result<Data, any Error>?] = []
    private var stopped = false
    private var started = false
    private let finished = DispatchSemaphore(value: 0)
    private var current = Data()
    private var currentStart = 0
    private var ended = false
    /// Chunks decrypted ahead of the reader: 4 x 64 KiB.
    static let ahead = 4

    public init(source: any ByteSource, keys: AgeDecryptionKeys, prefetch: Bool = false) {
        self.source = source; self.keys = keys; self.prefetch = prefetch
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if payloadKey == nil { try readHeader() }
        while currentStart == current.count {
            if ended { return 0 }
            switch try nextPlain() {
            case .some(let data): current = data; currentStart = 0
            case .none: ended = true; return 0
            }
        }
        let count = min(buffer.count, current.count - currentStart)
        current.withUnsafeBytes { all in
            buffer.baseAddress!.copyMemory(from: all.baseAddress! + currentStart, byteCount: count)
        }
        currentStart += count
        return count
    }

    /// The next decrypted chunk, nil at the end; throws what ended the file early.
    private func nextPlain() throws -> Data? {
        guard prefetch else {
            if done { return nil }
            return try nextChunk()
        }
        condition.lock()
        if !started {
            started = true
            Thread.detachNewThread { [self] in produce() }
        }
        while queue.isEmpty { condition.wait() }
        let next = queue.removeFirst()
        condition.signal()
        condition.unlock()
        if let next { return try next.get() }
        ended = true
        return nil
    }

    private func produce() {
        defer { finished.signal() }
        while true {
            let item: Result<Data, any Error>?
            do {
                if done { item = nil } else { item = .success(try nextChunk()) }
            } catch {
                item = .failure(error)
            }
            condition.lock()
            while queue.count >= Self.ahead && !stopped { condition.wait() }
            if stopped { condition.unlock(); return }
            queue.append(item)
            condition.signal()
            condition.unlock()
            if item == nil { return }
            if case .failure = item { return }
        }
    }

    /// Stops the prefetch thread and waits for it, so the source is free to close.
    public func stop() {
        condition.lock()
        let running = started && !stopped
        stopped = true
        condition.broadcast()
        condition.unlock()
        if running { finished.wait() }
    }

    private var available: Int { input.count - inputStart }

    /// Reads until `count` bytes are buffered or the source ends.
    private func fill(_ count: Int) throws {
        while available < count && !sourceEnded {
            if inputStart > 0 && inputStart >= input.count / 2 {
                input.removeFirst(inputStart)
                inputStart = 0
            }
            let n = try readBuffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { sourceEnded = true } else { input.append(contentsOf: readBuffer[0..<n]) }
        }
    }

    private func take(_ count: Int) -> ArraySlice<UInt8> {
        let slice = input[inputStart..<(inputStart + count)]
        inputStart += count
        position += UInt64(count)
        return slice
    }

    private func readLine(_ number: Int, header: inout [UInt8]) throws -> [UInt8] {
        var scanned = 0
        while true {
            if let newline = input[(inputStart + scanned)...].firstIndex(of: 0x0A) {
                let line = Array(take(newline - inputStart + 1).dropLast())
                header += line + [0x0A]
                guard header.count <= Self.maxHeader else { throw AgeError.malformedHeader(line: number, "the header is longer than \(Self.maxHeader) bytes") }
                return line
            }
            scanned = available
            guard scanned <= Self.maxLine else { throw AgeError.malformedHeader(line: number, "a line longer than \(Self.maxLine) bytes") }
            guard !sourceEnded else { throw AgeError.truncated("it ends inside the header, at line \(number)") }
            try fill(available + 1)
        }
    }

    private func readHeader() throws {
        try fill(AgeHeader.magic.count)
        guard available >= AgeHeader.magic.count, input[inputStart..<(inputStart + AgeHeader.magic.count)].elementsEqual(AgeHeader.magic) else {
            if available == 0 { throw AgeError.truncated("it is empty") }
            throw AgeError.notAgeFile
        }
        var header: [UInt8] = []
        let version = try readLine(1, header: &header)
        guard version == Array(AgeHeader.versionLine.utf8) else {
            throw AgeError.unsupportedVersion(String(decoding: version.dropFirst(AgeHeader.magic.count).prefix(40), as: UTF8.self))
        }
        var stanzas: [(AgeStanza, line: Int)] = []
        var number = 1
        var mac: [UInt8]?
        while mac == nil {
            number += 1
            let line = try readLine(number, header: &header)
            if line.starts(with: Array("-> ".utf8)) {
                let argumentLine = number
                let arguments = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
                guard arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0 >= 33 && $0 <= 126 } }) else {
                    throw AgeError.malformedHeader(line: number, "a stanza's arguments must be non-empty printable words separated by one space")
                }
                var body: [UInt8] = []
                while true {
                    number += 1
                    let bodyLine = try readLine(number, header: &header)
                    guard bodyLine.count <= 64, bodyLine.allSatisfy(AgeBase64.isAlphabet) else {
                        throw AgeError.malformedHeader(line: number, "a stanza body line must be at most 64 base64 characters")
                    }
                    body += bodyLine
                    if bodyLine.count < 64 { break }
                }
                guard let decoded = AgeBase64.decode(body) else {
                    throw AgeError.malformedHeader(line: number, "a stanza body is not canonical unpadded base64")
                }
                stanzas.append((AgeStanza(arguments: arguments.map { String(decoding: $0, as: UTF8.self) }, body: decoded), argumentLine))
                guard stanzas.count <= 1024 else { throw AgeError.malformedHeader(line: number, "more than 1024 stanzas") }
            } else if line.starts(with: Array("--- ".utf8)) {
                let encoded = line.dropFirst(4)
                guard encoded.count == 43, let decoded = AgeBase64.decode(encoded), decoded.count == 32 else {
                    throw AgeError.malformedHeader(line: number, "the MAC line must hold 43 base64 characters (a 32-byte HMAC)")
                }
                mac = decoded
            } else {
                throw AgeError.malformedHeader(line: number, "expected a stanza ('-> ') or the MAC line ('--- ')")
            }
        }
        guard !stanzas.isEmpty else { throw AgeError.malformedHeader(line: number, "the header has no recipient stanza") }
        let fileKey = try AgeHeader.unwrap(stanzas: stanzas, keys: keys)
        // The MAC covers the header up to and including "---", without the space after it.
        let covered = Array(header.dropLast(header.count - header.lastIndex(of: 0x2D)! - 1))
        guard HMAC<SHA256>.isValidAuthenticationCode(mac!, authenticating: covered, using: AgeHeader.macKey(fileKey: fileKey)) else {
            throw AgeError.headerMACMismatch
        }
        try fill(16)
        guard available >= 16 else { throw AgeError.truncated("it ends after the header, before the 16-byte payload nonce") }
        payloadKey = AgeHeader.payloadKey(fileKey: fileKey, nonce: Array(take(16)))
    }

    private func open(_ sealed: ArraySlice<UInt8>, final: Bool) -> Data? {
        guard sealed.count >= 16 else { return nil }
        // The sealed box's own layout (nonce, ciphertext, tag) built with two copies of whole
        // buffers: its initializer from parts copies byte by byte.
        var combined = Data(capacity: 12 + sealed.count)
        AgeWriter.nonce(counter, final: final).withUnsafeBytes { combined.append($0.assumingMemoryBound(to: UInt8.self)) }
        sealed.withUnsafeBufferPointer { combined.append($0) }
        guard let box = try? ChaChaPoly.SealedBox(combined: combined) else { return nil }
        return try? ChaChaPoly.open(box, using: payloadKey!)
    }

    /// Reads, authenticates and decrypts the next chunk.
    private func nextChunk() throws -> Data {
        // One byte beyond a whole chunk tells whether this chunk is the last.
        try fill(Self.sealedChunk + 1)
        let offset = position
        if available > Self.sealedChunk {
            let sealed = take(Self.sealedChunk)
            guard let opened = open(sealed, final: false) else {
                // A final chunk followed by more bytes: the file was appended to.
                if open(sealed, final: true) != nil { throw AgeError.trailingData(offset: position) }
                throw AgeError.chunkDamaged(index: counter, offset: offset)
            }
            counter += 1
            return opened
        } else {
            if available == 0 {
                throw AgeError.truncated(counter == 0 ? "it ends right after the payload nonce, with no chunk"
                                         : "it ends after chunk \(counter - 1) (byte \(offset)), which is not the final chunk")
            }
            let sealed = take(available)
            guard let opened = open(sealed, final: true) else {
                if open(sealed, final: false) != nil {
                    throw AgeError.truncated("it ends after chunk \(counter) (byte \(position)), which is not the final chunk")
                }
                if sealed.count < 16 { throw AgeError.truncated("it ends inside chunk \(counter) (byte \(offset)), before its tag") }
                throw AgeError.lastChunkUnreadable(index: counter, offset: offset)
            }
            // An empty final chunk is allowed only when it is the whole payload.
            guard !opened.isEmpty || counter == 0 else { throw AgeError.chunkDamaged(index: counter, offset: offset) }
            done = true
            counter += 1
            return opened
        }
    }
}
