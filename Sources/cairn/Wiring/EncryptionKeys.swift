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
        let identityText: (() throws -> String)?
        if let text = nonEmpty(environment["CAIRN_AGE_IDENTITY"]) {
            identityText = { text }
        } else if let path = nonEmpty(environment["CAIRN_AGE_IDENTITY_FILE"]) ?? settings?.identityFile {
            let origin = environment["CAIRN_AGE_IDENTITY_FILE"] != nil ? "CAIRN_AGE_IDENTITY_FILE \(path)" : "encryption.identity_file \(path)"
            identityText = { try readSecret(path, what: origin) }
        } else {
            identityText = nil
        }
        let identityOrigin = nonEmpty(environment["CAIRN_AGE_IDENTITY"]) != nil ? "CAIRN_AGE_IDENTITY"
            : (nonEmpty(environment["CAIRN_AGE_IDENTITY_FILE"]) ?? settings?.identityFile) ?? ""
        let passphrase: (() throws -> [UInt8])?
        if let text = nonEmpty(environment["CAIRN_AGE_PASSPHRASE"]) {
            passphrase = { Array(text.utf8) }
        } else if let path = nonEmpty(environment["CAIRN_AGE_PASSPHRASE_FILE"]) ?? settings?.passphraseFile {
            let origin = environment["CAIRN_AGE_PASSPHRASE_FILE"] != nil ? "CAIRN_AGE_PASSPHRASE_FILE \(path)" : "encryption.passphrase_file \(path)"
            passphrase = {
                let text = try readSecret(path, what: origin)
                // One trailing line break is the file's, not the passphrase's (echo pass > file).
                let trimmed = text.hasSuffix("\r\n") ? String(text.dropLast(2)) : text.hasSuffix("\n") ? String(text.dropLast()) : text
                guard !trimmed.isEmpty else { throw CairnError.usage("\(origin) is empty: it must hold the passphrase") }
                return Array(trimmed.utf8)
            }
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
        if identityText != nil || passphrase != nil {
            decryption = {
                var keys = AgeDecryptionKeys()
                if let identityText {
                    do { keys.identities = try AgeIdentity.parseFile(try identityText(), what: identityOrigin) } catch let error as AgeError {
                        throw CairnError.usage(error.description)
                    }
                }
                keys.passphrase = try passphrase?()
                return keys
            }
        }
        return AgeKeySource(encryption: encryption, decryption: decryption, identityHint: hint, written: written)
    }

    private static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

    /// The text of a secret's file; the error says which file and why, never its content.
    private static func readSecret(_ path: String, what: String) throws -> String {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let text = String(data: data, encoding: .utf8) else { throw CairnError.usage("\(what) is not UTF-8 text") }
            return text
        } catch let error as CairnError {
            throw error
        } catch {
            throw CairnError.usage("\(what) cannot be read: \((error as NSError).localizedFailureReason ?? describe(error))")
        }
    }
}
