import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// The Weaviate plugin with Cairn's S3 store (moto with signature checks): the filesystem backend
/// archived into the bucket, and the s3 backend, where Weaviate's backup-s3 module writes the
/// backup into the bucket itself and Cairn checks it, archives its descriptors and writes
/// backup_metadata.json beside it. Judged with the AWS CLI, tar and jq (the runbook's commands).
@Suite("Weaviate backups with the S3 store", .serialized)
struct WeaviateS3Tests {
    let s3: MotoCairn
    let backups: URL

    init() throws {
        s3 = try MotoCairn("cairn-weaviate-s3")
        backups = s3.temp.path("weaviate-backups")
        try FileManager.default.createDirectory(at: backups, withIntermediateDirectories: true)
    }

    func writeConfig(weaviate: FakeWeaviate, backend: String) throws {
        try s3.writeConfig(bucket: "cairn-test", """
            components:
              weaviate:
                url: \(weaviate.url)
                backend: \(backend)
                poll_interval_ms: 20
                poll_max_interval_ms: 60
            """)
    }

    /// backup_metadata.json from latest.tar.gz, read as the runbook does.
    func latestMetadata() throws -> JSONValue {
        try JSONValue.parse(try s3.aws("s3 cp s3://cairn-test/weaviate/test/latest.tar.gz - | tar -xzO --wildcards '*/backup_metadata.json'").text)
    }

    @Test func theFilesystemBackendRoundTripsThroughTheS3Store() throws {
        let weaviate = try FakeWeaviate(in: s3.temp.path("server"), config: ["backups_path": backups.path, "classes": ["Article": 4]])
        try writeConfig(weaviate: weaviate, backend: "filesystem")
        let backup = try s3.cairn(["backup", "weaviate"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let meta = try latestMetadata()
        let id = try #require(meta["backup_id"]?.stringValue)
        #expect(meta["source"]?["backup_classes"] == .array([.string("Article")]))
        let listing = try s3.aws("s3 cp s3://cairn-test/weaviate/test/latest.tar.gz - | tar -tz").text
        #expect(listing.contains("\(id)/node1/Article/chunk-1"), "\(listing)")

        let verify = try s3.cairn(["verify", "weaviate", "--backup", id])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")

        try weaviate.request("DELETE", "/v1/schema/Article")
        try FileManager.default.removeItem(at: backups.appendingPathComponent(id))
        let restore = try s3.cairn(["restore", "weaviate", "--backup", "latest"])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        #expect(try weaviate.objectCounts() == ["Article": 4])
        #expect(try weaviate.checkResponsesAgainstSpec().status == 0)
    }

    @Test func theS3BackendIsDrivenCheckedAndDescribedInTheBucket() throws {
        let weaviate = try FakeWeaviate(in: s3.temp.path("server"), config: [
            "backend": "s3", "classes": ["Article": 3, "Author": 2],
            "s3": ["endpoint": s3.moto.endpoint, "bucket": "cairn-test", "path": "weaviate-backups",
                   "access_key": s3.moto.accessKey, "secret_key": s3.moto.secretKey],
        ])
        try writeConfig(weaviate: weaviate, backend: "s3")
        let check = try s3.cairn(["check", "weaviate"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        #expect(check.stderr.contains("with backup-s3"), "\(check.stderr)")

        let backup = try s3.cairn(["backup", "weaviate"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        let meta = try latestMetadata()
        let id = try #require(meta["backup_id"]?.stringValue)
        let objects = meta["source"]?["bucket_objects"]
        #expect(objects?["prefix"]?.stringValue == "weaviate-backups/\(id)/")
        let keys = objects?["objects"]?.arrayValue?.compactMap { $0["key"]?.stringValue } ?? []
        #expect(keys == ["backup_config.json", "node1/Article/chunk-1", "node1/Author/chunk-1", "node1/backup.json"], "\(keys)")

        // The archive holds only the descriptors; the data stays in Weaviate's objects.
        let listing = try s3.aws("s3 cp s3://cairn-test/weaviate/test/latest.tar.gz - | tar -tz").text.split(separator: "\n").map(String.init).filter { !$0.hasSuffix("/") }.sorted()
        #expect(listing == ["\(id)/backup_config.json", "\(id)/backup_metadata.json", "\(id)/node1/backup.json"], "\(listing)")
        // backup_metadata.json beside Weaviate's objects, as the runbook expects.
        let beside = try s3.aws("s3 cp s3://cairn-test/weaviate-backups/\(id)/backup_metadata.json - | jq -r '.backup_id, (.objects | length)'")
        #expect(beside.text.split(separator: "\n") == [Substring(id), "4"], "\(beside.text)\(beside.stderr)")

        let verify = try s3.cairn(["verify", "weaviate", "--backup", id])
        #expect(verify.status == 0, "\(verify.text)\(verify.stderr)")
        #expect(verify.text.contains("all 4 objects of \(id) are in the bucket under weaviate-backups/\(id)/ with their recorded sizes"), "\(verify.text)")

        try weaviate.request("DELETE", "/v1/schema/Article")
        try weaviate.request("DELETE", "/v1/schema/Author")
        let restore = try s3.cairn(["restore", "weaviate", "--backup", "latest"])
        #expect(restore.status == 0, "\(restore.text)\(restore.stderr)")
        #expect(try weaviate.objectCounts() == ["Article": 3, "Author": 2])

        // A chunk lost from the bucket fails verification and stops a restore before Weaviate is asked.
        #expect(try s3.aws("s3 rm s3://cairn-test/weaviate-backups/\(id)/node1/Author/chunk-1").status == 0)
        let broken = try s3.cairn(["verify", "weaviate", "--backup", id])
        #expect(broken.status == 1, "\(broken.text)\(broken.stderr)")
        #expect(broken.text.contains("no longer matches backup \(id): missing: node1/Author/chunk-1"), "\(broken.text)")
        try weaviate.request("DELETE", "/v1/schema/Article")
        try weaviate.request("DELETE", "/v1/schema/Author")
        let posts = weaviate.requests.filter { $0.hasPrefix("POST") && $0.hasSuffix("/restore") }.count
        let refused = try s3.cairn(["restore", "weaviate", "--backup", id])
        #expect(refused.status == 1)
        // Refused by the host's check, which runs the plugin's verify, before the plugin's restore.
        #expect((refused.text + refused.stderr).contains("refusing to restore weaviate/test/\(id).tar.gz: component 'weaviate' (plugin weaviate) refuses its contents: "
                                                         + "the bucket under weaviate-backups/\(id)/ no longer matches backup \(id): missing: node1/Author/chunk-1"),
                "\(refused.text)\(refused.stderr)")
        #expect(weaviate.requests.filter { $0.hasPrefix("POST") && $0.hasSuffix("/restore") }.count == posts)

        let spec = try weaviate.checkResponsesAgainstSpec()
        #expect(spec.status == 0, "\(spec.text)")
    }

    @Test func theS3BackendNeedsCairnsStoreToBeWeaviatesBucket() throws {
        let weaviate = try FakeWeaviate(in: s3.temp.path("server"), config: [
            "backend": "s3", "classes": ["Article": 1],
            "s3": ["endpoint": s3.moto.endpoint, "bucket": "cairn-test", "path": "weaviate-backups",
                   "access_key": s3.moto.accessKey, "secret_key": s3.moto.secretKey],
        ])
        // A filesystem store cannot see the bucket.
        let store = s3.temp.path("store")
        try writeFilesystemConfig(s3.configFile, store: store, """
            components:
              weaviate:
                url: \(weaviate.url)
                backend: s3
                poll_interval_ms: 20
            """)
        let backup = try s3.cairn(["backup", "weaviate"])
        #expect(backup.status == 1, "\(backup.text)\(backup.stderr)")
        #expect((backup.text + backup.stderr).contains("but Cairn's store holds nothing under weaviate-backups/weaviate_"), "\(backup.text)\(backup.stderr)")
        #expect((backup.text + backup.stderr).contains("Cairn's storage must be the bucket Weaviate writes to (BACKUP_S3_BUCKET)"))
        #expect(!FileManager.default.fileExists(atPath: store.appendingPathComponent("weaviate/test/latest.tar.gz").path))
        #expect(try weaviate.checkResponsesAgainstSpec().status == 0)
    }
}
