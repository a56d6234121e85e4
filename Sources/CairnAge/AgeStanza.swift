import Crypto
import _CryptoExtras
import Foundation

/// One recipient stanza of an age header: `-> type args…` and a wrapped file key.
struct AgeStanza {
    var arguments: [String]
    var body: [UInt8]

    static let x25519Info = Array("age-encryption.org/v1/X25519".utf8)
    static let scryptLabel = Array("age-encryption.org/v1/scrypt".utf8)
    private static var zeroNonce: ChaChaPoly.Nonce { try! ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)) }

    /// The header text of the stanza: argument line, then the body wrapped at 64 columns, ending
    /// with a line shorter than 64 (empty when the body fills whole lines).
    var text: String {
        let encoded = Array(AgeBase64.encode(body).utf8)
        var lines = "-> " + arguments.joined(separator: " ") + "\n"
        var i = 0
        while encoded.count - i >= 64 { lines += String(decoding: encoded[i..<(i + 64)], as: UTF8.self) + "\n"; i += 64 }
        return lines + String(decoding: encoded[i...], as: UTF8.self) + "\n"
    }

    private static func seal(_ fileKey: [UInt8], key: SymmetricKey) -> [UInt8] {
        let box = try! ChaChaPoly.seal(fileKey, using: key, nonce: zeroNonce)
        return Array(box.ciphertext) + Array(box.tag)
    }

    private static func open(_ body: [UInt8], key: SymmetricKey) -> [UInt8]? {
        guard body.count == 32, let box = try? ChaChaPoly.SealedBox(nonce: zeroNonce, ciphertext: body[0..<16], tag: body[16...]) else { return nil }
        return (try? ChaChaPoly.open(box, using: key)).map { Array($0) }
    }

    private static func x25519WrapKey(shared: SharedSecret, share: [UInt8], recipient: [UInt8]) -> SymmetricKey {
        shared.hkdfDerivedSymmetricKey(using: SHA256.self, salt: share + recipient, sharedInfo: x25519Info, outputByteCount: 32)
    }

    static func x25519(fileKey: [UInt8], to recipient: AgeRecipient) throws -> AgeStanza {
        let ephemeral = Curve25519.KeyAgreement.PrivateKey()
        let share = Array(ephemeral.publicKey.rawRepresentation)
        let shared = try ephemeral.sharedSecretFromKeyAgreement(with: .init(rawRepresentation: recipient.publicKey))
        let key = x25519WrapKey(shared: shared, share: share, recipient: recipient.publicKey)
        return AgeStanza(arguments: ["X25519", AgeBase64.encode(share)], body: seal(fileKey, key: key))
    }

    /// The file key if this X25519 stanza is addressed to `identity`; nil when it is not.
    /// Throws for a stanza that breaks the format.
    func unwrapX25519(_ identity: AgeIdentity, line: Int) throws -> [UInt8]? {
        guard arguments.count == 2, let share = AgeBase64.decode(Array(arguments[1].utf8)), share.count == 32 else {
            throw AgeError.malformedHeader(line: line, "an X25519 stanza needs exactly one argument, the 32-byte ephemeral share")
        }
        guard body.count == 32 else { throw AgeError.malformedHeader(line: line, "an X25519 stanza's body must be 32 bytes, it is \(body.count)") }
        guard let publicShare = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: share),
              let shared = try? identity.privateKey.sharedSecretFromKeyAgreement(with: publicShare) else { return nil }
        // An all-zero shared secret (a low-order share) must abort, as the format demands.
        guard shared.withUnsafeBytes({ $0.contains { $0 != 0 } }) else {
            throw AgeError.malformedHeader(line: line, "the X25519 share is a low-order point")
        }
        let recipient = identity.recipient.publicKey
        return Self.open(body, key: Self.x25519WrapKey(shared: shared, share: share, recipient: recipient))
    }

    private static func scryptKey(passphrase: [UInt8], salt: [UInt8], log2N: Int) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(from: passphrase, salt: scryptLabel + salt, outputByteCount: 32,
                                 rounds: 1 << log2N, blockSize: 8, parallelism: 1)
    }

    static func scrypt(fileKey: [UInt8], passphrase: [UInt8], log2N: Int) throws -> AgeStanza {
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = generator.next() }
        let key = try scryptKey(passphrase: passphrase, salt: salt, log2N: log2N)
        return AgeStanza(arguments: ["scrypt", AgeBase64.encode(salt), String(log2N)], body: seal(fileKey, key: key))
    }

    func unwrapScrypt(passphrase: [UInt8], maxLog2N: Int, line: Int) throws -> [UInt8]? {
        guard arguments.count == 3, let salt = AgeBase64.decode(Array(arguments[1].utf8)), salt.count == 16 else {
            throw AgeError.malformedHeader(line: line, "an scrypt stanza needs a 16-byte salt and a work factor")
        }
        let factor = arguments[2]
        guard factor.range(of: "^[1-9][0-9]*$", options: .regularExpression) != nil, factor.count <= 3, let log2N = Int(factor) else {
            throw AgeError.malformedHeader(line: line, "the scrypt work factor '\(factor)' is not a decimal number without leading zeros")
        }
        guard log2N <= maxLog2N else { throw AgeError.workFactorTooHigh(log2N, limit: maxLog2N) }
        guard body.count == 32 else { throw AgeError.malformedHeader(line: line, "an scrypt stanza's body must be 32 bytes, it is \(body.count)") }
        return Self.open(body, key: try Self.scryptKey(passphrase: passphrase, salt: salt, log2N: log2N))
    }
}
