import Foundation
import Testing
@testable import CairnInterfaces

@Suite("Storage layout")
struct StorageLayoutTests {
    @Test func backupIDsFollowTheLayout() {
        let id = BackupID.make(component: "Redis-Main", date: Date(timeIntervalSince1970: 1_795_719_662))
        #expect(id == "redis_main_20261126_190102")
        #expect(BackupID.isValid(id))
        let layout = StorageLayout(component: "redis", environment: "prod")
        #expect(layout.archiveKey("redis_20261126_190102") == "redis/prod/redis_20261126_190102.tar.gz")
        #expect(layout.backupID(fromKey: "redis/prod/latest.tar.gz") == nil)
        #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar.gz") == "redis_20261126_190102")
    }
    @Test func zstdArchivesAreNamedAndRecognised() {
        let zstd = StorageLayout(component: "redis", environment: "prod", suffix: ArchiveSuffix(format: .zstd))
        #expect(zstd.archiveKey("redis_20261126_190102") == "redis/prod/redis_20261126_190102.tar.zst")
        #expect(zstd.latestKey == "redis/prod/latest.tar.zst")
        #expect(zstd.latestKeys == ["redis/prod/latest.tar.zst", "redis/prod/latest.tar.gz", "redis/prod/latest.tar.gz.age",
                                    "redis/prod/latest.tar.zst.age"])
        // Any layout reads either name.
        let gzip = StorageLayout(component: "redis", environment: "prod")
        for layout in [gzip, zstd] {
            #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar.zst") == "redis_20261126_190102")
            #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar.gz") == "redis_20261126_190102")
            #expect(layout.backupID(fromKey: "redis/prod/latest.tar.zst") == nil)
            #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar") == nil)
            #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102.tar.zst.part") == nil)
            #expect(layout.isLatestKey("redis/prod/latest.tar.gz") && layout.isLatestKey("redis/prod/latest.tar.zst"))
        }
        #expect(ArchiveSuffix.of("x.tar.zst") == ArchiveSuffix(format: .zstd))
        #expect(ArchiveSuffix.of("x.tar.gz") == ArchiveSuffix(format: .gzip))
        #expect(ArchiveSuffix.of("x.zst") == nil)
    }

    @Test func encryptionComposesWithEitherFormat() {
        let names = [(ArchiveSuffix(format: .gzip, encrypted: true), ".tar.gz.age"), (ArchiveSuffix(format: .zstd, encrypted: true), ".tar.zst.age"),
                     (ArchiveSuffix(format: .gzip), ".tar.gz"), (ArchiveSuffix(format: .zstd), ".tar.zst")]
        for (suffix, text) in names {
            #expect(suffix.text == text)
            #expect(ArchiveSuffix.of("redis_20261126_190102" + text) == suffix, "\(text)")
            #expect(ArchiveSuffix.isEncrypted(key: "x" + text) == suffix.encrypted)
            let layout = StorageLayout(component: "redis", environment: "prod", suffix: suffix)
            #expect(layout.latestKey == "redis/prod/latest" + text)
            #expect(layout.latestKeys.count == 4 && layout.latestKeys.first == layout.latestKey)
            // Every layout reads every name: turning compression or encryption on or off loses nothing.
            for (other, otherText) in names {
                #expect(layout.backupID(fromKey: "redis/prod/redis_20261126_190102" + otherText) == "redis_20261126_190102")
                #expect(layout.isLatestKey("redis/prod/latest" + otherText))
                #expect(layout.archiveKeys("redis_20261126_190102").contains("redis/prod/redis_20261126_190102" + other.text))
            }
        }
        #expect(ArchiveSuffix.of("x.tar.age") == nil)
        #expect(ArchiveSuffix.of("x.tar.zst.age.part") == nil)
    }

    @Test func aStoredArchiveIsFoundUnderEveryName() throws {
        let store = MemoryStore()
        let layout = StorageLayout(component: "redis", environment: "prod", suffix: ArchiveSuffix(format: .zstd, encrypted: true))
        store.put("redis/prod/redis_20261126_190102.tar.gz", Data([1]))
        #expect(try BackupSelector.id("redis_20261126_190102").resolvedKey(in: layout, store: store) == "redis/prod/redis_20261126_190102.tar.gz")
        #expect(try BackupSelector.latest.resolvedKey(in: layout, store: store) == "redis/prod/latest.tar.zst.age", "none stored: the layout's own name")
        store.put("redis/prod/latest.tar.gz.age", Data([1]))
        #expect(try BackupSelector.latest.resolvedKey(in: layout, store: store) == "redis/prod/latest.tar.gz.age")
    }

    @Test func aStoredArchiveIsFoundUnderEitherName() throws {
        let store = MemoryStore()
        let layout = StorageLayout(component: "redis", environment: "prod")
        store.put("redis/prod/redis_20261126_190102.tar.zst", Data([1]))
        #expect(try BackupSelector.id("redis_20261126_190102").resolvedKey(in: layout, store: store) == "redis/prod/redis_20261126_190102.tar.zst")
        #expect(try BackupSelector.latest.resolvedKey(in: layout, store: store) == "redis/prod/latest.tar.gz", "none stored: the layout's own name")
        store.put("redis/prod/latest.tar.zst", Data([1]))
        #expect(try BackupSelector.latest.resolvedKey(in: layout, store: store) == "redis/prod/latest.tar.zst")
    }
}
