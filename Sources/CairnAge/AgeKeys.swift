import Crypto
import Foundation

/// An X25519 recipient, `age1…`: whom a file is encrypted to.
public struct AgeRecipient: Sendable, Equatable {
    public let publicKey: [UInt8]

    public init(publicKey: [UInt8]) { self.publicKey = publicKey }

    /// `what` names the text's origin in errors ("encryption.recipients[1]"); the key itself is public.
    public init(parsing text: String, what: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch Bech32.decode(trimmed) {
        case .failure(let failure):
            throw AgeError.invalidKey(what: what, "'\(trimmed)' is not an age recipient: \(failure.reason); expected age1… as age-keygen prints it")
        case .success(let (hrp, data)):
            guard hrp == "age" else {
                let hint = hrp.hasPrefix("age-secret-key-") ? " (that is a secret identity: put it in the identity file, and its public age1… key here)" : ""
                throw AgeError.invalidKey(what: what, "not an X25519 age recipient: its prefix is '\(hrp)', expected 'age'\(hint)")
            }
            guard data.count == 32 else {
                throw AgeError.invalidKey(what: what, "'\(trimmed)' holds \(data.count) bytes, an X25519 key has 32")
            }
            publicKey = data
        }
    }

    public var text: String { Bech32.encode(hrp: "age", data: publicKey) }
}

/// An X25519 identity, `AGE-SECRET-KEY-1…`: what opens files encrypted to its recipient.
/// Never printed: errors name only where it came from.
public struct AgeIdentity: Sendable {
    /// The raw 32 bytes (the key type itself is not Sendable).
    private let secret: [UInt8]
    var privateKey: Curve25519.KeyAgreement.PrivateKey { try! .init(rawRepresentation: secret) }

    public init() { secret = Array(Curve25519.KeyAgreement.PrivateKey().rawRepresentation) }

    public init(parsing text: String, what: String) throws {
        switch Bech32.decode(text) {
        case .failure(let failure):
            throw AgeError.invalidKey(what: what, "not an age identity: \(failure.reason); expected AGE-SECRET-KEY-1… as age-keygen writes it")
        case .success(let (hrp, data)):
            guard hrp == "age-secret-key-", data.count == 32 else {
                throw AgeError.invalidKey(what: what, "not an X25519 age identity (expected AGE-SECRET-KEY-1… holding 32 bytes)")
            }
            secret = Array(try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: data).rawRepresentation)
        }
    }

    public var recipient: AgeRecipient { AgeRecipient(publicKey: Array(privateKey.publicKey.rawRepresentation)) }

    /// The identity as age-keygen writes it (for tests and key generation only).
    public var secretText: String { Bech32.encode(hrp: "age-secret-key-", data: Array(privateKey.rawRepresentation)).uppercased() }

    /// The identities of an identity file in age's format: one AGE-SECRET-KEY-1… per line, blank
    /// lines and `#` comments ignored (what age-keygen writes). `what` names the file or variable.
    public static func parseFile(_ text: String, what: String) throws -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            identities.append(try AgeIdentity(parsing: line, what: "\(what), line \(number + 1)"))
        }
        guard !identities.isEmpty else {
            throw AgeError.invalidKey(what: what, "holds no identity (expected lines of AGE-SECRET-KEY-1… as age-keygen writes them)")
        }
        return identities
    }
}

/// How a file is encrypted: to X25519 recipients, or with a passphrase (which age allows only alone).
public enum AgeEncryptionKeys: Sendable {
    case recipients([AgeRecipient])
    case passphrase([UInt8], log2WorkFactor: Int)
}

/// What may open a file: identities and/or a passphrase.
public struct AgeDecryptionKeys: Sendable {
    public var identities: [AgeIdentity]
    public var passphrase: [UInt8]?
    /// scrypt stanzas asking for more than 2^maxWorkFactor are refused (age's own limit is 22).
    public var maxWorkFactor: Int
    /// The file key itself, known to the process that wrote the file: its read-back needs no
    /// identity, and the header MAC and every chunk are still checked.
    var fileKey: [UInt8]?

    public init(identities: [AgeIdentity] = [], passphrase: [UInt8]? = nil, maxWorkFactor: Int = 22) {
        self.identities = identities; self.passphrase = passphrase; self.maxWorkFactor = maxWorkFactor
    }

    init(fileKey: [UInt8]) { self.init(); self.fileKey = fileKey }
}
