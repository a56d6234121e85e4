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
        let identity = secret("CAIRN_AGE_IDENTITY", configured: settings?.identityFile, key: "encryption.identity_file", environment)
        let passphrase = secret("CAIRN_AGE_PASSPHRASE", configured: settings?.passphraseFile, key: "encryption.passphrase_file", environment)
            .map { secret in { Array(try secret.text().utf8) } }

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

    /// A secret: the text of `variable`, else the file its `_FILE` variable names, else the file
    /// cairn.yaml's `key` names (SecretFile drops a trailing line break and refuses an empty file).
    /// `what` names it in errors: the variable, or the file's path.
    private static func secret(_ variable: String, configured: String?, key: String,
                               _ environment: [String: String]) -> (text: () throws -> String, what: String)? {
        if let text = nonEmpty(environment[variable]) { return ({ text }, variable) }
        let fileVariable = SecretFile.variable(for: variable)
        let file: (path: String, origin: String)?
        if let path = nonEmpty(environment[fileVariable]) { file = (path, ValueOrigin.environment(fileVariable).description) }
        else { file = configured.map { ($0, key) } }
        return file.map { file in ({ try SecretFile.read(file.path, source: file.origin) }, file.path) }
    }

    private static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
}
