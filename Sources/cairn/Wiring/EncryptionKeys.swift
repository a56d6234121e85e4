import CairnAge
import CairnConfig
import CairnCore
import Foundation

/// The age keys of this invocation, from `encryption:` in cairn.yaml and the variables, which
/// beat the file: CAIRN_AGE_IDENTITY (the identity file's text), CAIRN_AGE_IDENTITY_FILE,
/// CAIRN_AGE_PASSPHRASE, CAIRN_AGE_PASSPHRASE_FILE. Secrets are read when first needed and
/// never logged; errors name the variable or file, never what it holds.
enum EncryptionKeys {
    static let hint = "give the identity in encryption.identity_file (cairn.yaml), CAIRN_AGE_IDENTITY_FILE or CAIRN_AGE_IDENTITY "
        + "(an age identity file, as age-keygen writes it), or the passphrase in encryption.passphrase_file or CAIRN_AGE_PASSPHRASE_FILE"
    /// age's default work factor for passphrases (2^18).
    static let workFactor = 18

    static func source(_ settings: EncryptionSettings?, environment: [String: String], written: AgeWrittenKeys) -> AgeKeySource {
        // `what` names the identity in errors: the variable, or the file's path.
        let identity: (text: () throws -> String, what: String)?
        if let text = nonEmpty(environment["CAIRN_AGE_IDENTITY"]) {
            identity = ({ text }, "CAIRN_AGE_IDENTITY")
        } else if let file = secretPath("CAIRN_AGE_IDENTITY_FILE", settings?.identityFile, key: "encryption.identity_file", environment) {
            identity = ({ try SecretFile.read(file.path, source: file.origin) }, file.path)
        } else {
            identity = nil
        }
        let passphrase: (() throws -> [UInt8])?
        if let text = nonEmpty(environment["CAIRN_AGE_PASSPHRASE"]) {
            passphrase = { Array(text.utf8) }
        } else if let file = secretPath("CAIRN_AGE_PASSPHRASE_FILE", settings?.passphraseFile, key: "encryption.passphrase_file", environment) {
            // SecretFile drops the file's trailing line break (echo pass > file) and refuses an empty one.
            passphrase = { Array(try SecretFile.read(file.path, source: file.origin).utf8) }
        } else {
            passphrase = nil
        }

        var encryption: (() throws -> AgeEncryptionKeys)?
        if let settings {
            if !settings.recipients.isEmpty {
                let recipients = settings.recipients
                encryption = { .recipients(recipients) }
            } else if let passphrase {
                encryption = { .passphrase(try passphrase(), log2WorkFactor: workFactor) }
            }
        }
        var decryption: (() throws -> AgeDecryptionKeys)?
        if identity != nil || passphrase != nil {
            decryption = {
                var keys = AgeDecryptionKeys()
                if let identity {
                    do { keys.identities = try AgeIdentity.parseFile(try identity.text(), what: identity.what) } catch let error as AgeError {
                        throw CairnError.usage(error.description)
                    }
                }
                keys.passphrase = try passphrase?()
                return keys
            }
        }
        return AgeKeySource(encryption: encryption, decryption: decryption, identityHint: hint, written: written)
    }

    /// The file `variable` names, else the one cairn.yaml's `key` names, with where its path came from.
    private static func secretPath(_ variable: String, _ configured: String?, key: String,
                                   _ environment: [String: String]) -> (path: String, origin: String)? {
        if let path = nonEmpty(environment[variable]) { return (path, "environment variable \(variable)") }
        return configured.map { ($0, key) }
    }

    private static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
}
