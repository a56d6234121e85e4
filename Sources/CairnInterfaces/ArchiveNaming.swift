/// How a store names its archives: `<backup_id>` or `latest`, then `.tar`, the compression's
/// suffix, and `.age` when encrypted. The one place that composes the suffix: each layer
/// (compression, encryption) adds its own part.
public struct ArchiveNaming: Sendable, Equatable {
    public static let encryptionSuffix = ".age"

    /// ".gz" for gzip.
    public var compression: String
    /// age-encrypted (`.age`): the bytes are an age file around the compressed tar.
    public var encrypted: Bool

    public init(compression: String = ".gz", encrypted: Bool = false) { self.compression = compression; self.encrypted = encrypted }

    public static let plain = ArchiveNaming()

    /// `.tar.gz`, `.tar.gz.age`.
    public var suffix: String { ".tar" + compression + (encrypted ? Self.encryptionSuffix : "") }

    /// The suffixes an archive in the same folder may have and still be this component's backup:
    /// encrypted or not, so that turning encryption on or off keeps older backups listed and prunable.
    public var readableSuffixes: [String] {
        let base = ".tar" + compression
        return [base + Self.encryptionSuffix, base]
    }

    public static func isEncrypted(key: String) -> Bool { key.hasSuffix(encryptionSuffix) }
}
