import CairnCore
import CairnInterfaces
import CairnPluginHost
import CairnS3
import CairnTestSupport
import Foundation
import Testing

/// The same checks the in-memory twin passes (CairnInterfacesTests), against the real stores as the
/// host uses them: the filesystem plugin loaded from its library, and the S3 plugin on moto with
/// signature checks. S3 comes from its module linked into this test program (CairnS3Tests tests its
/// insides), so no second copy of it is ever loaded here.
@Suite("Store conformance: filesystem and S3 plugins")
struct StoreConformanceTests {
    @Test(arguments: StoreConformance.checks)
    func filesystem(_ check: StoreConformance.Check) throws {
        let dir = try TemporaryDirectory("conformance-fs")
        let registry = PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
        let store = try StoreConformance.open(try registry.load("filesystem", kind: .storage), settings: ["root": .string(dir.path("store").path)],
                                  scratch: dir.url)
        try check.run(on: store)
    }

    /// The same plugin in a worker process: every operation through the proxy and the socket.
    @Test(arguments: StoreConformance.checks)
    func filesystemInAWorker(_ check: StoreConformance.Check) throws {
        let dir = try TemporaryDirectory("conformance-fs-worker")
        let registry = PluginRegistry(searchPath: PluginSearchPath(entries: [(TestPaths.buildDirectory, "bundled")]))
        let store = try StoreConformance.open(try registry.load("filesystem", kind: .storage), settings: ["root": .string(dir.path("store").path)],
                                  scratch: dir.url, isolation: PluginIsolation(mode: .process))
        #expect(store.isolation.mode == .process)
        try check.run(on: store)
    }

    @Test func s3OnMoto() throws {
        let setup = try MotoCairn("conformance-s3")
        #expect(try setup.aws("s3 mb s3://conformance").status == 0)
        let plugin = try PluginLoader.load(linkedEntry: { major, minor in cairnPluginEntryV1(major, minor) },
                                           manifestURL: TestPaths.packageRoot.appendingPathComponent("Plugins/S3/plugin.json"))
        let store = try StoreConformance.open(plugin, settings: [
            "bucket": .string("conformance"), "endpoint": .string(setup.moto.endpoint), "region": .string("us-east-1"),
            "access_key_id": .string(setup.moto.accessKey), "secret_access_key": .string(setup.moto.secretKey),
            // Small objects go up as multipart uploads too, so both paths are held to the rules.
            "multipart_threshold": .string("1MiB"),
        ], scratch: setup.temp.url)
        for check in StoreConformance.checks {
            try check.run(on: store)
        }
        // The linked module served; its library was never mapped into this process as a second copy.
        #expect(!(try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)).contains("libCairnS3.so"))
    }
}
