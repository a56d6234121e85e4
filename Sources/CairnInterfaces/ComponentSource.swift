import CairnArchive
import CairnCore

/// Something Cairn backs up: Redis, Weaviate, a directory tree. The plugin host adapts component
/// plugins to it; tests script it. Entries stream into the archive writer as the source produces
/// them; stored backups come back as an archive reader that re-checks every checksum.
public protocol ComponentSource: AnyObject {
    /// "directory:configs": plugin and instance name, used in every message.
    var label: String { get }
    var traits: ComponentTraits { get }
    /// Health checks before a backup; a source without them reports nothing.
    func check() throws -> [CheckResult]
    /// Writes the backup's entries into `writer`; returns the facts about the source that go into
    /// backup_metadata.json's `source` (server version, key counts, classes).
    func backup(id: String, environment: String, options: JSONValue, into writer: ArchiveWriter,
                progress: (@Sendable (UInt64, UInt64, String?) -> Void)?) throws -> [String: JSONValue]
    /// The source's own validation of a stored backup's files (RDB CRC, descriptors). `metadata`
    /// is backup_metadata.json's text; `rootFolder` the archive's top-level folder.
    func verify(reader: ArchiveReader, rootFolder: String, metadata: String) throws -> [CheckResult]
    /// Restores into `target` (a folder), or into the source itself when `target` is empty and the
    /// source `restoresInPlace`. `options["drill"] == true` asks for a throwaway-server drill.
    func restore(backupID: String, target: String, options: JSONValue, reader: ArchiveReader,
                 rootFolder: String, metadata: String) throws -> [CheckResult]
}

/// What a component source is and can do; for plugins, read from the manifest and the ABI.
public struct ComponentTraits: Sendable, Equatable {
    /// Written into backup_metadata.json (`plugin`, `plugin_version`).
    public var plugin: String
    public var version: String
    public var canVerify: Bool
    public var canRestore: Bool
    /// Restores into its own server when no target is given (Weaviate).
    public var restoresInPlace: Bool
    /// The restore drill's contract, when the source offers one: the facts of backup_metadata.json's
    /// `source` that a drill's check details must report equal (Redis: "keys").
    public var drill: DrillContract?

    public init(plugin: String, version: String, canVerify: Bool, canRestore: Bool, restoresInPlace: Bool = false,
                drill: DrillContract? = nil) {
        self.plugin = plugin; self.version = version; self.canVerify = canVerify; self.canRestore = canRestore
        self.restoresInPlace = restoresInPlace; self.drill = drill
    }
}

/// What a restore drill proves (declared in plugin.json's `drill`): `fact` is an object of named
/// entries (Redis: databases) in backup_metadata.json's `source`, each with a count in `field`; a
/// drill's check details report the same fact after loading the backup, and every count must match.
public struct DrillContract: Sendable, Equatable, Codable {
    public var fact: String
    public var field: String
    /// How reports name what was compared ("key counts").
    public var noun: String

    public init(fact: String, field: String, noun: String) { self.fact = fact; self.field = field; self.noun = noun }
}
