import CairnCore
import Crypto
import Foundation

/// Encrypts a byte stream into an age v1 file as it is written: the header first, then the
/// payload in 64 KiB ChaCha20-Poly1305 chunks. Holds one chunk in memory. `finish` writes the
/// final chunk; without it the output is a truncated age file that every reader refuses.
public final class AgeWriter: ByteSink {
    static let chunkSize = 64 * 1024
    private let sink: any ByteSink
    private let payloadKey: SymmetricKey
    /// One chunk of plaintext being filled; `filled` bytes of it are used.
    private let chunk: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var counter: UInt64 = 0
    private var finished = false
    /// Kept for the writing process's own read-back (AgeStore), never written anywhere.
    let fileKey: [UInt8]

    public init(sink: any ByteSink, keys: AgeEncryptionKeys) throws {
        self.sink = sink
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
        chunk = .allocate(byteCount: Self.chunkSize, alignment: 16)
        let header = AgeHeader.encode(stanzas: stanzas, fileKey: fileKey) + nonce
        try header.withUnsafeBytes { try sink.write($0) }
    }

    deinit { chunk.deallocate() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw CairnError.failure("age writer: write after finish") }
        var offset = 0
        while offset < bytes.count {
            // A full chunk is sealed only when more bytes follow, so the last one can be marked final.
            if filled == Self.chunkSize { try seal(final: false) }
            let take = min(Self.chunkSize - filled, bytes.count - offset)
            (chunk.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: take)
            filled += take
            offset += take
        }
    }

    /// Seals the last chunk (empty only when nothing was written at all).
    public func finish() throws {
        guard !finished else { return }
        try seal(final: true)
        finished = true
    }

    private func seal(final: Bool) throws {
        let box = try ChaChaPoly.seal(UnsafeRawBufferPointer(rebasing: chunk[0..<filled]), using: payloadKey,
                                      nonce: AgeWriter.nonce(counter, final: final))
        // `combined` is nonce, ciphertext, tag: the file holds the last two.
        try box.combined.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[12...])) }
        counter += 1
        filled = 0
    }

    /// An 11-byte big-endian chunk counter, then 1 for the final chunk and 0 before it.
    static func nonce(_ counter: UInt64, final: Bool) -> ChaChaPoly.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { bytes[10 - i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
        bytes[11] = final ? 1 : 0
        return try! ChaChaPoly.Nonce(data: bytes)
    }
}
