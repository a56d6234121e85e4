@testable import CairnOperations
import CairnArchive
import CairnCore
import CairnInterfaces
import CairnState
import CairnTestSupport
import Foundation
import Logging
import Testing

/// The operations over the in-memory twins: a MemoryStore, a ScriptedComponent and a state
/// database in a temporary folder. No plugin library and no server, so every rule of backup,
/// verification, restore, validation, the integrity test and retention is checked in milliseconds.
@Suite("Operations with in-memory twins")
struct OperationsWithMemoryTwinsTests {
    static let environment = "test"

    let temp: TemporaryDirectory
    let store = MemoryStore()
    let state: StateStore
    let component: ScriptedComponent
    let layout = StorageLayout(component: "app", environment: OperationsWithMemoryTwinsTests.environment)
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    init() throws {
        temp = try TemporaryDirectory("operations-twins")
        state = try StateStore(path: temp.path("state.sqlite").path)
        component = ScriptedComponent(name: "app")
    }

    var backups: BackupService {
        let store = self.store
        return BackupService(openStore: { store }, storeDescription: "memory", state: state, environment: Self.environment,
                             archiveOptions: ArchiveOptions(threads: 1, spoolDirectory: temp.url), logger: logger)
    }

    var restores: RestoreService {
        RestoreService(store: store, storeDescription: "memory", environment: Self.environment, workingDirectory: temp.url, logger: logger)
    }

    func integrity(_ source: ScriptedComponent) -> IntegrityService {
        IntegrityService(store: store, storeDescription: "memory", environment: Self.environment,
                         openComponent: { _ in source }, restore: restores)
    }

    /// backup -> verifyNew -> publish, as the built-in backup pipeline does.
    @discardableResult
    func backUp(_ source: ScriptedComponent? = nil, verify: Bool = true, publish: Bool = true) throws -> BackupSummary {
        let source = source ?? component
        var made = try backups.backup(component: "app", plugin: "scripted", open: { source })
        if verify { made = try backups.verifyNew(made, source: source).0 }
        if publish { made = try backups.publish(made) }
        return made
    }

    /// Every object key under the component's prefix.
    func keys() throws -> [String] { try store.list(prefix: layout.prefix).map(\.key) }

    /// Files under `folder`, by relative path, with their bytes.
    func filesOnDisk(_ folder: URL) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let enumerator = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]))
        for case let url as URL in enumerator where try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
            found[String(url.standardizedFileURL.path.dropFirst(folder.standardizedFileURL.path.count + 1))] = try Data(contentsOf: url)
        }
        return found
    }

    /// An archive written by hand: `files` under `id`, and `metadata` (given the writer's file
    /// records) as backup_metadata.json, whatever its bytes are.
    func handMadeArchive(id: String, files: [String: Data], metadata: ([FileRecord]) throws -> Data) throws -> Data {
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: id, options: ArchiveOptions(threads: 1, spoolDirectory: temp.url))
        for (path, data) in files.sorted(by: { $0.key < $1.key }) {
            try writer.begin(ArchiveEntry(path: path, kind: .file, mode: 0o644, mtime: 1_700_000_000, size: Int64(data.count)))
            try data.withUnsafeBytes { try writer.write($0) }
            try writer.end()
        }
        try writer.finish(metadata: try metadata(writer.files))
        return sink.data
    }

    func metadata(id: String, files: [FileRecord], fileCount: Int) -> BackupMetadata {
        BackupMetadata(backupID: id, component: "app", plugin: "scripted", pluginVersion: "1.0.0", environment: Self.environment,
                       startedAt: Date(), finishedAt: Date(), toolVersion: BackupService.toolVersion,
                       source: ["files": .object(["all": .object(["count": .number(Double(fileCount))])])], files: files)
    }

    // MARK: Backup, verify, publish, restore

    @Test func aBackupIsStoredVerifiedPublishedAndRestoresTheComponentsFiles() throws {
        let made = try backUp()
        #expect(made.backupID.range(of: #"^app_[0-9]{8}_[0-9]{6}$"#, options: .regularExpression) != nil, "\(made.backupID)")
        #expect(made.key == "app/test/\(made.backupID).tar.gz")
        #expect(made.latestKey == "app/test/latest.tar.gz")
        #expect(made.verified && made.published)
        #expect(try keys() == [made.key, made.latestKey])
        let archive = try #require(store.data(made.key))
        #expect(store.data(made.latestKey) == archive, "latest.tar.gz is a copy of the new archive")
        #expect(made.compressedBytes == Int64(archive.count))

        let record = try #require(try state.backup(id: made.backupID))
        #expect(record.outcome == .success)
        #expect(record.verified)
        #expect(record.storageKey == made.key)
        #expect(record.files == 2)
        #expect(record.verification?.contains("archive/checksums pass") == true, "\(record.verification ?? "nil")")
        #expect(record.verification?.contains("scripted:app/files pass") == true, "\(record.verification ?? "nil")")

        let verified = try VerifyService(store: store, storeDescription: "memory", environment: Self.environment)
            .verify(component: "app", source: component, selector: .latest)
        #expect(verified.ok, "\(verified.checks.described)")
        #expect(verified.backupID == made.backupID)
        #expect(verified.files == 2)

        let target = temp.path("restored")
        let restored = try restores.restore(component: "app", source: component, selector: .latest, target: target.path)
        #expect(restored.backupID == made.backupID)
        #expect(restored.files == 2)
        #expect(component.restored == component.files)
        #expect(try filesOnDisk(target) == component.files)
    }

    @Test func aSourceThatFailsMidBackupLeavesNothingInTheStoreAndARecordedFailure() throws {
        component.backupFailure = CairnError.failure("the source went away")
        #expect(throws: CairnError.self) { try backUp() }
        // Half the entries were written, but the object was never committed.
        #expect(try keys() == [])
        let failed = try #require(try state.backups(component: "app", environment: Self.environment).first)
        #expect(failed.outcome == .failure)
        #expect(failed.error?.contains("the source went away") == true, "\(failed.error ?? "nil")")
        #expect(!failed.verified)
    }

    @Test func aFailedBackupLeavesTheEarlierLatestAsItWas() throws {
        let good = try backUp()
        let latest = try #require(store.data(good.latestKey))
        component.backupFailure = CairnError.failure("the source went away")
        #expect(throws: CairnError.self) { try backUp() }
        #expect(store.data(good.latestKey) == latest)
        #expect(try keys() == [good.key, good.latestKey])
        let records = try state.backups(component: "app", environment: Self.environment)
        #expect(records.map(\.outcome).sorted { $0.rawValue < $1.rawValue } == [.failure, .success])
        #expect(try state.backup(id: good.backupID)?.outcome == .success, "the failure did not overwrite the good record")
    }

    // MARK: What ArchiveCheck finds

    @Test func aFlippedByteInAStoredFilesDataIsAChecksumFinding() throws {
        // A file's bytes changed under an intact gzip layer (each of Cairn's gzip members has its
        // own CRC, so damage to the stored bytes is found there first): the tar is changed and
        // compressed again by gzip, and the file's SHA-256 is what tells.
        let noise = TestData.random(200_000, seed: 11)
        let source = ScriptedComponent(name: "app", files: ["noise.bin": noise, "readme.txt": Data("hello\n".utf8)])
        let made = try backUp(source, publish: false)
        let temp = try TemporaryDirectory()
        try #require(store.data(made.key)).write(to: temp.path("a.tgz"))
        var tar = try runShell("gzip -dc '\(temp.path("a.tgz").path)'").stdout
        let at = try #require(tar.range(of: noise[100_000..<100_064]))
        tar[at.lowerBound] ^= 0x01
        try tar.write(to: temp.path("a.tar"))
        let damaged = try runShell("gzip -c '\(temp.path("a.tar").path)'").stdout
        store.put(made.key, damaged)

        let report = try ArchiveCheck(store: store).full(key: made.key, expectedBackupID: made.backupID, component: source)
        #expect(!report.ok)
        #expect(report.problem == .checksum, "\(report.checks.described)")
        #expect(report.findings.count == 1)
        #expect(report.findings.first?.check.message.contains("\(made.backupID)/noise.bin") == true, "\(report.checks.described)")
    }

    @Test func aFlippedByteInTheGzipTrailerIsAStructureFinding() throws {
        let made = try backUp(publish: false)
        var damaged = try #require(store.data(made.key))
        // The last eight bytes are the gzip CRC-32 and length: every entry reads back whole and
        // only the gzip layer's own check fails.
        damaged[damaged.count - 8] ^= 0xFF
        store.put(made.key, damaged)
        let report = try ArchiveCheck(store: store).full(key: made.key, component: component)
        #expect(report.problem == .structure, "\(report.checks.described)")
        #expect(report.checks.failures.first?.message.contains("gzip") == true, "\(report.checks.described)")
    }

    @Test func metadataThatIsNotJSONIsAMetadataFinding() throws {
        let id = "app_20260101_000000"
        let key = layout.archiveKey(id)
        store.put(key, try handMadeArchive(id: id, files: component.files) { _ in Data("{ not json".utf8) })

        let report = try ArchiveCheck(store: store).full(key: key, expectedBackupID: id)
        #expect(report.problem == .metadata, "\(report.checks.described)")

        switch try ArchiveCheck(store: store).metadata(key: key) {
        case .success(let read): Issue.record("read metadata of \(read.backupID) from an archive whose metadata is not JSON")
        case .failure(let finding):
            #expect(finding.kind == .metadata)
            #expect(finding.check.message.contains("is not JSON"), "\(finding.check.message)")
        }
    }

    @Test func theComponentsOwnFailedValidationIsAComponentFinding() throws {
        let made = try backUp(publish: false)
        component.verifyFailure = "the RDB CRC does not match"
        let report = try ArchiveCheck(store: store).full(key: made.key, expectedBackupID: made.backupID, component: component)
        #expect(report.problem == .component, "\(report.checks.described)")
        #expect(report.findings.map(\.check.message) == ["the RDB CRC does not match"])
        // Structure and checksums passed before the component looked.
        #expect(report.checks.first { $0.name == "checksums" }?.status == .pass)
    }

    @Test func aRestoreRunsTheComponentsValidationFirstAndWritesNothingItRefuses() throws {
        // For every component, not only the ones whose plugin re-checks while it restores.
        let made = try backUp()
        component.verifyFailure = "the RDB CRC does not match"
        let target = temp.path("refused")
        let error = #expect(throws: CairnError.self) {
            try restores.restore(component: "app", source: component, selector: .latest, target: target.path)
        }
        #expect(String(describing: error).contains("refusing to restore \(made.latestKey): component 'app' (plugin scripted) refuses its contents: the RDB CRC does not match"),
                "\(String(describing: error))")
        #expect(component.restored.isEmpty, "the component was asked to restore")
        #expect(!FileManager.default.fileExists(atPath: target.path))
    }

    @Test func aDamagedNewBackupIsRemovedAndLatestIsKept() throws {
        let good = try backUp()
        let latest = try #require(store.data(good.latestKey))
        let made = try backups.backup(component: "app", plugin: "scripted", open: { component })
        #expect(made.backupID != good.backupID, "a second backup in the same second gets its own id")
        var damaged = try #require(store.data(made.key))
        damaged[damaged.count - 8] ^= 0xFF
        store.put(made.key, damaged)

        let failure = #expect(throws: BackupService.VerificationFailure.self) { try backups.verifyNew(made, source: component) }
        #expect(failure?.report.problem == .structure, "\(failure?.reason ?? "")")
        #expect(try store.stat(key: made.key) == nil, "the damaged archive was removed")
        #expect(store.data(good.latestKey) == latest)
        #expect(try keys() == [good.key, good.latestKey])
        let record = try #require(try state.backup(id: made.backupID))
        #expect(record.outcome == .failure)
        #expect(record.verification?.hasPrefix("failed: ") == true, "\(record.verification ?? "nil")")
        // And it cannot be published.
        #expect(throws: CairnError.self) { try backups.publish(made) }
    }

    // MARK: Daily validation

    func validate(now: Date = Date()) throws -> BackupHealth {
        let report = try ValidationService(store: store, storeDescription: "memory")
            .validate(components: [("app", 26 * 3600)], environment: Self.environment, allEnvironments: false, now: now)
        #expect(report.results.count == 1)
        return try #require(report.results.first)
    }

    @Test func aFreshBackupValidates() throws {
        let made = try backUp()
        let health = try validate()
        #expect(health.status == .ok, "\(health.evidence)")
        #expect(health.problem == nil)
        #expect(health.backupID == made.backupID)
        #expect(health.evidence.contains("newest \(made.backupID)"), "\(health.evidence)")
    }

    @Test func aBackupTwoDaysOldIsStale() throws {
        try backUp()
        let health = try validate(now: Date().addingTimeInterval(2 * 86400))
        #expect(health.status == .failed)
        #expect(health.problem == .stale, "\(health.evidence)")
        #expect(health.evidence.contains("older than the allowed"), "\(health.evidence)")
    }

    @Test func anEmptyStoreHasNoBackupToValidate() throws {
        let health = try validate()
        #expect(health.status == .failed)
        #expect(health.problem == .missing, "\(health.evidence)")
    }

    @Test func aForeignObjectUnderThePrefixIsAWarning() throws {
        try backUp()
        store.put("app/test/notes.txt", Data("left by a person\n".utf8))
        let health = try validate()
        #expect(health.status == .warning, "\(health.evidence)")
        #expect(health.problem == nil)
        #expect(health.foreignObjects == ["app/test/notes.txt"])
        #expect(store.data("app/test/notes.txt") != nil, "foreign objects are never touched")
    }

    // MARK: Weekly integrity test

    @Test func theRestoreDrillFindsTheFileCountsOfTheMetadata() throws {
        let drilled = ScriptedComponent(name: "app", drill: true)
        let made = try backUp(drilled)
        let report = integrity(drilled).check(components: ["app"], restoreDrill: true)
        let health = try #require(report.results.first)
        #expect(health.status == .ok, "\(health.evidence)")
        #expect(health.backupID == made.backupID)
        #expect(health.evidence.contains("file counts match the metadata (all 2 count)"), "\(health.evidence)")
        #expect(health.checks.contains { $0.name == "drill" && $0.status == .pass })
        // A drill restores into the throwaway server, never into a folder.
        #expect(!FileManager.default.fileExists(atPath: temp.path("drill").path))
    }

    @Test func aDrillThatRestoresFewerFilesThanTheMetadataCountsIsAMismatch() throws {
        // A source that reported three files in backup_metadata.json's `source` but wrote two: the
        // archive itself is sound (its file list and checksums agree), only the drill can tell.
        let drilled = ScriptedComponent(name: "app", drill: true)
        let id = "app_20260101_000000"
        let archive = try handMadeArchive(id: id, files: drilled.files) { files in
            try metadata(id: id, files: files, fileCount: 3).encoded()
        }
        store.put(layout.archiveKey(id), archive)
        store.put(layout.latestKey, archive)

        let health = try #require(integrity(drilled).check(components: ["app"], restoreDrill: true).results.first)
        #expect(health.status == .failed)
        #expect(health.problem == .drillMismatch, "\(health.evidence)")
        #expect(health.evidence.contains("all: metadata 3, restored 2"), "\(health.evidence)")
    }

    @Test func aComponentWithoutADrillIsCheckedButNotDrilled() throws {
        try backUp()
        let health = try #require(integrity(component).check(components: ["app"], restoreDrill: true).results.first)
        #expect(health.status == .ok, "\(health.evidence)")
        #expect(health.evidence.contains("no restore drill (plugin scripted has none)"), "\(health.evidence)")
        #expect(component.restored.isEmpty, "nothing was restored")
    }

    // MARK: Retention

    /// Three verified backups, each published in turn: latest holds the newest.
    @discardableResult
    func threeBackups() throws -> [BackupSummary] {
        let made = try (1...3).map { _ in try backUp() }
        #expect(Set(made.map(\.backupID)).count == 3, "\(made.map(\.backupID))")
        return made
    }

    func prune(dryRun: Bool, cleanup: PruneService.StoreCleanup? = nil) -> PruneReport.Component? {
        PruneService(store: store, state: state, environment: Self.environment, cleanup: cleanup, logger: logger)
            .prune(components: [("app", RetentionPolicy(keepLast: 1))], dryRun: dryRun).components.first
    }

    @Test func aDryRunListsTheOlderBackupsAndDeletesNothing() throws {
        let made = try threeBackups()
        let before = try keys()
        let result = try #require(prune(dryRun: true))
        #expect(Set(result.deleted) == Set([made[0].key, made[1].key]))
        #expect(result.errors == [])
        #expect(try keys() == before)
        #expect(before.count == 4)
    }

    @Test func pruneDeletesTheOlderBackupsButNeverLatestOrTheNewest() throws {
        let made = try threeBackups()
        let result = try #require(prune(dryRun: false))
        #expect(Set(result.deleted) == Set([made[0].key, made[1].key]))
        #expect(result.errors == [])
        #expect(try keys() == [made[2].key, made[2].latestKey])
        #expect(store.data(made[2].latestKey) == store.data(made[2].key))
        let newest = try #require(result.decisions.first)
        #expect(newest.backupID == made[2].backupID)
        #expect(Set(newest.reasons) == ["keep_last", "held by latest.tar.gz", "newest verified"])
    }

    @Test func aLockedArchiveIsListedUntilItsDateAndNeverHandedToRemove() throws {
        let made = try threeBackups()
        let until = Date().addingTimeInterval(3 * 86400)
        store.lock(key: made[1].key, until: until)                            // as S3 Object Lock would
        store.lock(key: made[0].key, until: Date().addingTimeInterval(-60))   // its date has passed
        let dry = try #require(prune(dryRun: true))
        #expect(dry.deleted == [made[0].key])
        #expect(dry.locked.map(\.key) == [made[1].key])
        let result = try #require(prune(dryRun: false))
        // MemoryStore refuses to remove a locked key, so an attempt would show up as an error.
        #expect(result.errors == [])
        #expect(result.deleted == [made[0].key])
        #expect(result.locked.map(\.key) == [made[1].key])
        #expect(result.locked.first?.until == until.formatted(.iso8601))
        #expect(try keys() == [made[1].key, made[2].key, made[2].latestKey])
        #expect(throws: StoreError.self) { try store.remove(key: made[1].key) }
    }

    @Test func latestAndTheNewestVerifiedStayWhenKeepLastWouldLetThemGo() throws {
        let published = try backUp()                            // latest.tar.gz holds this one
        let verified = try backUp(publish: false)               // the newest verified
        let newest = try backUp(verify: false, publish: false)  // kept by keep_last 1
        let result = try #require(prune(dryRun: false))
        #expect(result.deleted == [])
        #expect(result.errors == [])
        let reasons = Dictionary(result.decisions.map { ($0.backupID, $0.reasons) }, uniquingKeysWith: { a, _ in a })
        #expect(reasons[published.backupID] == ["held by latest.tar.gz"])
        #expect(reasons[verified.backupID] == ["newest verified"])
        #expect(reasons[newest.backupID] == ["keep_last"])
        #expect(try keys().count == 4)
    }

    @Test func theStoresCleanupRunsForThePrefixWithADaysAge() throws {
        try threeBackups()
        final class Calls: @unchecked Sendable { var made: [(String, Int64)] = [] }
        let calls = Calls()
        let cleanup = PruneService.StoreCleanup(name: "memory.cleanup") { prefix, age in
            calls.made.append((prefix, age))
            return .number(2)
        }
        let dry = try #require(prune(dryRun: true, cleanup: cleanup))
        #expect(calls.made.isEmpty, "a dry run does not clean up")
        #expect(dry.cleanedUp == nil)
        #expect(dry.notes.contains { $0.contains("would run memory.cleanup under app/test/") }, "\(dry.notes)")

        let real = try #require(prune(dryRun: false, cleanup: cleanup))
        #expect(calls.made.map(\.0) == ["app/test/"])
        #expect(calls.made.map(\.1) == [86400])
        #expect(real.cleanedUp == 2)
        #expect(real.errors == [])
    }

    @Test func aCleanupThatReportsFailureIsAnErrorInTheReport() throws {
        try threeBackups()
        let cleanup = PruneService.StoreCleanup(name: "memory.cleanup") { _, _ in .number(-1) }
        let report = PruneService(store: store, state: state, environment: Self.environment, cleanup: cleanup, logger: logger)
            .prune(components: [("app", RetentionPolicy(keepLast: 1))], dryRun: false)
        #expect(!report.ok)
        let result = try #require(report.components.first)
        #expect(result.cleanedUp == nil)
        #expect(result.errors == ["memory.cleanup reported a failure (-1); see the log"], "\(result.errors)")
        #expect(result.deleted.count == 2, "the policy's deletions are not undone by the cleanup's failure")
    }
}
