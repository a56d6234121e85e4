import CairnAge
import CairnCore
import Foundation
import Yams

/// `encryption:` in cairn.yaml: whom new archives are encrypted to, and where the keys that
/// read them are. Secrets themselves are never taken from the file: only where to find them.
public struct EncryptionSettings: Sendable {
    /// X25519 recipients (`age1…`): every one can decrypt every new archive.
    public var recipients: [AgeRecipient]
    /// An age identity file (AGE-SECRET-KEY-1… lines); CAIRN_AGE_IDENTITY_FILE or CAIRN_AGE_IDENTITY beat it.
    public var identityFile: String?
    /// A file holding a passphrase: archives are then encrypted with it (scrypt) instead of to recipients.
    public var passphraseFile: String?

    public init(recipients: [AgeRecipient] = [], identityFile: String? = nil, passphraseFile: String? = nil) {
        self.recipients = recipients; self.identityFile = identityFile; self.passphraseFile = passphraseFile
    }
}

enum EncryptionConfigParser {
    static let keys = ["recipients", "identity_file", "passphrase_file"]
    /// Keys that would put a secret into cairn.yaml: refused with the way to do it instead.
    static let secretKeys = ["identity", "identities", "passphrase", "secret_key", "private_key"]

    static func parse(_ node: Node, reader: YAMLReader, baseDirectory: URL) throws -> EncryptionSettings {
        let body = try reader.mapping(node, context: "'encryption'")
        for (key, _) in body where secretKeys.contains(key.string ?? "") {
            throw reader.error(key, "encryption.\(key.string ?? ""): secrets are never read from cairn.yaml; put the identity in a file "
                + "(encryption.identity_file, CAIRN_AGE_IDENTITY_FILE) or in CAIRN_AGE_IDENTITY, a passphrase in encryption.passphrase_file "
                + "or CAIRN_AGE_PASSPHRASE_FILE (docs/configuration.md, encryption)")
        }
        try reader.rejectUnknownKeys(body, known: keys, context: "'encryption'")
        var settings = EncryptionSettings()
        for (key, value) in body {
            switch key.string {
            case "recipients":
                for (index, item) in try reader.list(value, key: "encryption.recipients").enumerated() {
                    let text = try reader.string(item, key: "encryption.recipients[\(index)]")
                    do { settings.recipients.append(try AgeRecipient(parsing: text, what: "encryption.recipients[\(index)]")) } catch let error as AgeError {
                        throw reader.error(item, error.description)
                    }
                }
            case "identity_file":
                settings.identityFile = resolvePath(try reader.string(value, key: "encryption.identity_file"), against: baseDirectory)
            default:
                settings.passphraseFile = resolvePath(try reader.string(value, key: "encryption.passphrase_file"), against: baseDirectory)
            }
        }
        if settings.recipients.isEmpty && settings.passphraseFile == nil {
            throw reader.error(node, "encryption needs recipients (age1… keys, as age-keygen prints them) to encrypt new backups to, or a passphrase_file")
        }
        if !settings.recipients.isEmpty && settings.passphraseFile != nil {
            throw reader.error(node, "encryption: set recipients or passphrase_file, not both: an age file encrypted with a passphrase "
                + "has no other recipient (age-encryption.org/v1); to keep a break-glass key, add it as another recipient")
        }
        return settings
    }
}
