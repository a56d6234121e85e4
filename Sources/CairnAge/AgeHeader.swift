import Crypto
import Foundation

/// The textual header of an age v1 file: version line, stanzas, MAC.
enum AgeHeader {
    static let versionLine = "age-encryption.org/v1"
    static let magic = Array("age-encryption.org/".utf8)
    static let fileKeySize = 16

    static func macKey(fileKey: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), salt: [UInt8](),
                               info: Array("header".utf8), outputByteCount: 32)
    }

    static func payloadKey(fileKey: [UInt8], nonce: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: fileKey), salt: nonce,
                               info: Array("payload".utf8), outputByteCount: 32)
    }

    /// The MAC over everything up to and including `---`.
    static func mac(_ headerUpToDashes: [UInt8], fileKey: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: headerUpToDashes, using: macKey(fileKey: fileKey)))
    }

    /// The whole header, ending with the MAC line's newline.
    static func encode(stanzas: [AgeStanza], fileKey: [UInt8]) -> [UInt8] {
        var text = Array((versionLine + "\n" + stanzas.map(\.text).joined() + "---").utf8)
        let tag = mac(text, fileKey: fileKey)
        text += Array((" " + AgeBase64.encode(tag) + "\n").utf8)
        return text
    }

    /// Finds the file key among the stanzas with the keys given, then checks the MAC.
    /// `lines` is the header line of each stanza's argument line, for errors.
    static func unwrap(stanzas: [(AgeStanza, line: Int)], keys: AgeDecryptionKeys) throws -> [UInt8] {
        if let fileKey = keys.fileKey { return fileKey }
        let scrypt = stanzas.filter { $0.0.arguments.first == "scrypt" }
        if let first = scrypt.first {
            guard stanzas.count == 1 else {
                throw AgeError.malformedHeader(line: first.line, "an scrypt (passphrase) stanza must be the only stanza of the header")
            }
            guard let passphrase = keys.passphrase else {
                throw AgeError.passphraseMismatch("it was encrypted with a passphrase (an scrypt stanza) and no passphrase was given to open it")
            }
            guard let fileKey = try first.0.unwrapScrypt(passphrase: passphrase, maxLog2N: keys.maxWorkFactor, line: first.line),
                  fileKey.count == fileKeySize else {
                throw AgeError.passphraseMismatch("the passphrase given does not open it (a wrong passphrase, or a damaged scrypt stanza)")
            }
            return fileKey
        }
        for (stanza, line) in stanzas where stanza.arguments.first == "X25519" {
            for identity in keys.identities {
                if let fileKey = try stanza.unwrapX25519(identity, line: line) {
                    guard fileKey.count == fileKeySize else { throw AgeError.malformedHeader(line: line, "the wrapped file key is not 16 bytes") }
                    return fileKey
                }
            }
        }
        if keys.identities.isEmpty, keys.passphrase != nil {
            throw AgeError.passphraseMismatch("a passphrase was given, but it was encrypted to recipients (\(stanzas.map { $0.0.arguments.first ?? "?" }.joined(separator: ", "))), not with a passphrase: give an identity file")
        }
        throw AgeError.noMatchingIdentity(stanzas: stanzas.map { $0.0.arguments.first ?? "?" }, identities: keys.identities.count)
    }
}
