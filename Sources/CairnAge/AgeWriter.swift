import CairnCore
import Crypto
import Foundation

/// Encrypts a byte stream into an age v1 file as it is written: the header first, then the
/// payload in 64 KiB ChaCha20-Poly1305 chunks. Holds one chunk in memory. `finish` writes the
/// final chunk; without it the output is a truncated age file that every reader refuses.
///
/// With `background`, full chunks are sealed and written to the sink on a thread of their own
/// (at most four waiting), so the thread that writes (the one that also feeds the compressors)
/// only copies. Errors of that thread are thrown by the next `write` or by `finish`; `stop`
/// ends it without writing more.
public final class AgeWriter: ByteSink, @unchecked Sendable {
    // @unchecked: the sink, the key and the counter belong to the sealing thread once it runs;
    // the queue, the spare buffers and the failure are guarded by `condition`.
    static let chunkSize = 64 * 1024
    private let sink: any ByteSink
    private let payloadKey: SymmetricKey
    /// One chunk of plaintext being filled; `filled` bytes of it are used.
    private var chunk = [UInt8](repeating: 0, count: AgeWriter.chunkSize)
    private var filled = 0
    private let background: Bool
    private let condition = NSCondition()
    private var pending: [(bytes: [UInt8], count: Int, final: Bool)] = []
    private var spare: [[UInt8]] = []
    private var failure: (any Error)?
    private var stopped = false
    private var started = false
    private var joined = false
    private let ended = DispatchSemaphore(value: 0)
    static let queued = 4
    private var counter: UInt64 = 0
    private var finished = false
    /// Kept for the writing process's own read-back (AgeStore), never written anywhere.
    let fileKey: [UInt8]

    public init(sink: any ByteSink, keys: AgeEncryptionKeys, background: Bool = false) throws {
        self.sink = sink
        self.background = background
        var generator = SystemRandomNumberGenerator()
        let fileKey = (0..<AgeHeader.fileKeySize).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.fileKey = fileKey
        let stanzas: [AgeStanza]
        switch keys {
        case .recipients(let recipients):
            guard !recipients.isEmpty else { throw AgeError.invalidKey(what: "encryption", "no recipient to encrypt to") }
            stanzas = try recipients.map { try AgeStanza.x25519(fileKey: fileKey, to: $0) }
        case .passphrase(let passphrase, let log2N):
            stanzas = [try AgeStanza.scrypt(fileKey: fileKey, passphrase: passphrase, log2N: log2N)]
        }
        let nonce = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        payloadKey = AgeHeader.payloadKey(fileKey: fileKey, nonce: nonce)
        let header = AgeHeader.encode(stanzas: stanzas, fileKey: fileKey) + nonce
        try header.withUnsafeBytes { try sink.write($0) }
    }

    deinit { stop() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw CairnError.failure("age writer: write after finish") }
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only when more bytes follow, so the last one can be marked final.
            if filled == Self.chunkSize { try submit(final: false) }
            let take = min(Self.chunkSize - filled, bytes.count - offset)
            chunk.withUnsafeMutableBytes { ($0.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: take) }
            filled += take
            offset += take
        }
    }

    /// Seals the last chunk (empty only when nothing was written at all) and, in the background,
    /// waits until every chunk is written.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try submit(final: true)
        guard background else { return }
        join()
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw failure }
    }

    /// Ends the sealing thread without writing what is still queued (an abandoned object).
    public func stop() {
        condition.lock()
        stopped = true
        pending.removeAll()
        condition.broadcast()
        condition.unlock()
        join()
    }

    private func join() {
        condition.lock()
        let wait = started && !joined
        joined = true
        condition.unlock()
        if wait { ended.wait() }
    }

    private func submit(final: Bool) throws {
        guard background else {
            try seal(chunk, count: filled, final: final)
            filled = 0
            return
        }
        condition.lock()
        defer { condition.unlock() }
        if !started {
            started = true
            Thread.detachNewThread { [self] in sealQueued() }
        }
        while pending.count >= Self.queued && failure == nil && !stopped { condition.wait() }
        if let failure { throw failure }
        guard !stopped else { throw CairnError.failure("age writer: write after stop") }
        pending.append((chunk, filled, final))
        condition.broadcast()
        chunk = spare.popLast() ?? [UInt8](repeating: 0, count: Self.chunkSize)
        filled = 0
    }

    private func sealQueued() {
        defer { ended.signal() }
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty { condition.unlock(); return }
            let item = pending.removeFirst()
            condition.broadcast()
            condition.unlock()
            do { try seal(item.bytes, count: item.count, final: item.final) } catch {
                condition.lock()
                failure = error
                pending.removeAll()
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.lock()
            spare.append(item.bytes)
            condition.unlock()
            if item.final { return }
        }
    }

    private func seal(_ bytes: [UInt8], count: Int, final: Bool) throws {
        let box = try bytes.withUnsafeBytes {
            try ChaChaPoly.seal(UnsafeRawBufferPointer(rebasing: $0[0..<count]), using: payloadKey, nonce: AgeWriter.nonce(counter, final: final))
        }
        // `combined` is nonce, ciphertext, tag: the file holds the last two.
        try box.combined.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[12...])) }
        counter += 1
    }

    /// An 11-byte big-endian chunk counter, then 1 for the final chunk and 0 before it.
    static func nonce(_ counter: UInt64, final: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        bytes[11] = final ? 1 : 0
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
