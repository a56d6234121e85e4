import CairnCore
import Foundation
import Testing
@testable import CairnAge
import CairnTestSupport

/// Debian's age is the judge both ways: it decrypts what Cairn writes, and Cairn decrypts what it writes.
struct AgeInteropTests {
    /// Sizes around the 64 KiB chunk: empty, one byte, one full chunk (which is then the final
    /// one), a full chunk and one byte, several chunks.
    static let sizes = [0, 1, 65_536, 65_537, 3 * 65_536 + 17]

    @Test func theSpecificationsKeyExampleParses() throws {
        let identity = try AgeIdentity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX", what: "test")
        #expect(identity.recipient.text == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        #expect(identity.secretText == "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")
        let recipient = try AgeRecipient(parsing: "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", what: "test")
        #expect(recipient == identity.recipient)
    }

    @Test func badKeysAreRefusedWithTheReason() throws {
        let typo = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk"
        #expect(throws: AgeError.self) { try AgeRecipient(parsing: typo, what: "encryption.recipients[0]") }
        do { _ = try AgeRecipient(parsing: typo, what: "encryption.recipients[0]") } catch {
            #expect("\(error)".contains("encryption.recipients[0]") && "\(error)".contains("checksum"))
        }
        let secret = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        do { _ = try AgeRecipient(parsing: secret, what: "encryption.recipients[1]"); Issue.record("a secret key taken as recipient") } catch {
            #expect("\(error)".contains("secret identity"))
            #expect(!"\(error)".contains("GFPYYSJZ"), "the secret must not appear in the error")
        }
        do { _ = try AgeIdentity.parseFile("# nothing\n\nAGE-SECRET-KEY-1GFPYYSJZGFPYYSJZ\n", what: "key.txt"); Issue.record("accepted") } catch {
            #expect("\(error)".contains("key.txt, line 3"))
            #expect(!"\(error)".contains("GFPYYSJZ"))
        }
    }

    @Test func ageDecryptsWhatCairnEncryptsToSeveralRecipients() throws {
        let temp = try TemporaryDirectory()
        let keys = try (0..<3).map { try Age.keygen(temp, "key\($0).txt") }
        let recipients = try keys.map { try AgeRecipient(parsing: $0.recipient, what: "test") }
        for (n, size) in Self.sizes.enumerated() {
            let plain = TestData.random(size, seed: UInt64(n + 1))
            try Age.encrypt(plain, .recipients(recipients), background: n % 2 == 0).write(to: temp.path("file\(n).age"))
            for key in keys {
                let out = try runTool(["age", "-d", "-i", key.file.path, temp.path("file\(n).age").path])
                #expect(out.stdout == plain, "size \(size) with \(key.file.lastPathComponent)")
            }
        }
        // A key that is not among the recipients does not open it.
        let stranger = try Age.keygen(temp, "stranger.txt")
        let refused = try runTool(["age", "-d", "-i", stranger.file.path, temp.path("file1.age").path], check: false)
        #expect(refused.status != 0)
    }

    @Test func cairnDecryptsWhatAgeEncryptsToSeveralRecipients() throws {
        let temp = try TemporaryDirectory()
        let first = try Age.keygen(temp, "a.txt"), second = try Age.keygen(temp, "b.txt")
        for (n, size) in Self.sizes.enumerated() {
            let plain = TestData.random(size, seed: UInt64(40 + n))
            try plain.write(to: temp.path("plain"))
            try runTool(["age", "-r", first.recipient, "-r", second.recipient, "-o", temp.path("x.age").path, temp.path("plain").path])
            let encrypted = try Data(contentsOf: temp.path("x.age"))
            for key in [first, second] {
                let identities = try AgeIdentity.parseFile(String(contentsOf: key.file, encoding: .utf8), what: key.file.lastPathComponent)
                #expect(try Age.decrypt(encrypted, AgeDecryptionKeys(identities: identities)) == plain, "size \(size)")
            }
        }
    }

    @Test func passphrasesBothWays() throws {
        let temp = try TemporaryDirectory()
        let passphrase = "correct horse battery staple"
        let plain = TestData.random(2 * 65_536 + 999, seed: 77)
        try plain.write(to: temp.path("plain"))
        // age encrypts with a passphrase, answering its two prompts on a terminal; Cairn decrypts.
        try Age.withTerminal("age -p -o byage.age plain", answers: [passphrase, passphrase], in: temp.url)
        let byAge = try Data(contentsOf: temp.path("byage.age"))
        #expect(String(decoding: byAge.prefix(40), as: UTF8.self).contains("-> scrypt "))
        #expect(try Age.decrypt(byAge, AgeDecryptionKeys(passphrase: Array(passphrase.utf8))) == plain)
        // Cairn encrypts with a passphrase (work factor 2^18, as age does); age decrypts.
        try Age.encrypt(plain, .passphrase(Array(passphrase.utf8), log2WorkFactor: 18)).write(to: temp.path("bycairn.age"))
        try Age.withTerminal("age -d -o out bycairn.age", answers: [passphrase], in: temp.url)
        #expect(try Data(contentsOf: temp.path("out")) == plain)
        // A wrong passphrase is told apart from damage.
        #expect(throws: AgeError.passphraseMismatch("the passphrase given does not open it (a wrong passphrase, or a damaged scrypt stanza)")) {
            try Age.decrypt(byAge, AgeDecryptionKeys(passphrase: Array("wrong".utf8)))
        }
    }
}
