import CairnArchive
import CairnCore
import CairnInterfaces
import Foundation

/// Where an `AgeStore` gets its keys. Loaded when first needed, so that commands that read
/// only names and sizes (list, size, latest) work without the identity.
public struct AgeKeySource {
    /// nil: new archives are written unencrypted.
    public var encryption: (() throws -> AgeEncryptionKeys)?
    /// nil: nothing is configured to read encrypted archives with.
    public var decryption: (() throws -> AgeDecryptionKeys)?
    /// How to give the missing identity, for errors.
    public var identityHint: String
    /// File keys of the archives this process wrote, shared by every store it opens.
    public let written: AgeWrittenKeys

    public init(encryption: (() throws -> AgeEncryptionKeys)?, decryption: (() throws -> AgeDecryptionKeys)?, identityHint: String,
                written: AgeWrittenKeys = AgeWrittenKeys()) {
        self.encryption = encryption; self.decryption = decryption; self.identityHint = identityHint; self.written = written
    }
}

/// The file keys of archives written by this process, so that a backup host holding only the
/// recipients can still read its new archive back (verify) before it publishes it. In memory only.
public final class AgeWrittenKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [String: [UInt8]] = [:]

    public init() {}

    subscript(key: String) -> [UInt8]? {
        get { lock.withLock { keys[key] } }
        set { lock.withLock { keys[key] = newValue } }
    }
}

/// A store whose archives are age files: objects named `*.age` are encrypted as they are
/// written and decrypted as they are read; every other object (locks, shared state, archives
/// from before encryption was turned on) passes through unchanged. The archive code above it
/// sees plain .tar.gz streams.
public final class AgeStore: ObjectStore {
    public let base: any ObjectStore
    let keys: AgeKeySource
    private var encryption: AgeEncryptionKeys?
    private var decryption: AgeDecryptionKeys?
    private var written: AgeWrittenKeys { keys.written }

    public init(base: any ObjectStore, keys: AgeKeySource) { self.base = base; self.keys = keys }

    public var label: String { base.label }
    public var encryptsArchives: Bool { keys.encryption != nil }
    public var canDecrypt: Bool { keys.decryption != nil }

    public func openWriter(key: String) throws -> any ObjectWriter {
        guard ArchiveSuffix.isEncrypted(key: key) else { return try base.openWriter(key: key) }
        guard let load = keys.encryption else {
            throw CairnError.usage("cannot write \(key): it names an encrypted archive and no encryption is configured (encryption: in cairn.yaml)")
        }
        let encryption = try self.encryption ?? load()
        self.encryption = encryption
        let inner = try base.openWriter(key: key)
        do {
            let age = try AgeWriter(sink: inner, keys: encryption, background: true)
            let written = self.written
            return AgeObjectWriter(inner: inner, age: age) { written[key] = age.fileKey }
        } catch {
            inner.abort()
            throw error
        }
    }

    public func openReader(key: String) throws -> any ObjectReader {
        guard ArchiveSuffix.isEncrypted(key: key) else { return try base.openReader(key: key) }
        let decryption: AgeDecryptionKeys
        if let fileKey = written[key] {
            decryption = AgeDecryptionKeys(fileKey: fileKey)
        } else {
            guard let load = keys.decryption else {
                throw CairnError.usage("\(key) is encrypted (age) and no identity is configured to decrypt it: \(keys.identityHint)")
            }
            decryption = try self.decryption ?? load()
            self.decryption = decryption
        }
        let inner = try base.openReader(key: key)
        return AgeObjectReader(inner: inner, age: AgeReader(source: inner, keys: decryption, prefetch: true), identityHint: keys.identityHint)
    }

    public func list(prefix: String) throws -> [StoredObject] { try base.list(prefix: prefix) }
    public func stat(key: String) throws -> StoredObject? { try base.stat(key: key) }
    public func copy(from source: String, to destination: String) throws { try base.copy(from: source, to: destination) }
    public func remove(key: String) throws {
        try base.remove(key: key)
        written[key] = nil
    }
    public func checkAccess() throws -> [CheckResult] { try base.checkAccess() }
    public func putIf(key: String, data: [UInt8], ifVersion: String?) throws -> StoredObject? {
        try base.putIf(key: key, data: data, ifVersion: ifVersion)
    }
}

/// Encrypts into the store's writer; `commit` writes the final chunk first.
final class AgeObjectWriter: ObjectWriter {
    let inner: any ObjectWriter
    let age: AgeWriter
    let committed: () -> Void

    init(inner: any ObjectWriter, age: AgeWriter, committed: @escaping () -> Void) {
        self.inner = inner; self.age = age; self.committed = committed
    }

    var key: String { inner.key }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try age.write(bytes) }
    func commit() throws {
        try age.finish()
        try inner.commit()
        committed()
    }
    func abort() {
        age.stop()
        inner.abort()
    }
}

/// Decrypts the store's reader. Damage becomes `ArchiveError.decryption`, so every check of an
/// archive reports it as a finding; keys that do not fit are a configuration error (exit 2).
final class AgeObjectReader: ObjectReader {
    let inner: any ObjectReader
    let age: AgeReader
    let identityHint: String

    init(inner: any ObjectReader, age: AgeReader, identityHint: String) { self.inner = inner; self.age = age; self.identityHint = identityHint }

    var key: String { inner.key }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do { return try age.read(into: buffer) } catch let error as AgeError {
            if error.isDamage { throw ArchiveError.decryption(error.description) }
            throw CairnError.usage("\(key) cannot be decrypted: \(error); \(identityHint)")
        }
    }
    func close() {
        age.stop()
        inner.close()
    }

    deinit { age.stop() }
}
