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
    }}
