import CairnInterfaces
import CairnTestSupport
import Testing

/// The in-memory twin keeps the same rules as the real stores (CairnIntegrationTests runs the same
/// checks against the filesystem plugin and S3 on moto).
@Suite("MemoryStore conformance")
struct MemoryStoreTests {
    @Test(arguments: StoreConformance.checks)
    func conformance(_ check: StoreConformance.Check) throws {
        try check.run(on: MemoryStore())
    }
}
