import Crypto
import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Damaged or malformed archives must each fail with their own, specific error.
struct ArchiveVerifierTests {
    static let id = "db_20261126_190102"

    private func goodArchive() throws -> Data {
        let sink = DataByteSink()
        _ = try writeArchive(id: Self.id, files: [
            TestFile(path: "text.txt", data: TestData.text(400_000, seed: 31)),
            TestFile(path: "random.bin", data: TestData.random(400_000, seed: 32)),
            TestFile(path: "tail.txt", data: TestData.text(3000, seed: 33)),
        ], sink: sink, options: ArchiveOptions(threads: 2, chunkSize: 64 << 10))
        return sink.data
    }

    private func verifyError(_ data: Data, expectedBackupID: String? = nil) -> ArchiveError? {
        archiveError { _ = try ArchiveVerifier.verify(source: DataByteSource(data), expectedBackupID: expectedBackupID) }
    }

    private func verifyError(_ url: URL) -> ArchiveError? {
        archiveError { _ = try ArchiveVerifier.verify(source: try FileByteSource(path: url.path)) }
    }

    private func metadataJSON(listing files: [(String, Data)], id: String = ArchiveVerifierTests.id) throws -> Data {
        let records = files.map { FileRecord(path: $0.0, size: Int64($0.1.count),
                                             sha256: SHA256.hash(data: $0.1).hexString, mode: 0o644, mtime: 1_700_000_000) }
        return try testMetadata(id: id, files: records).encoded()
    }

    @Test func goodArchiveVerifies() throws {
        let verified = try ArchiveVerifier.verify(source: DataByteSource(try goodArchive()), expectedBackupID: Self.id)
        #expect(verified.metadata.files.map(\.path) == ["text.txt", "random.bin", "tail.txt"])
    }

    @Test func truncatedArchiveIsAnErrorAtEveryCut() throws {
        let data = try goodArchive()
        for cut in [0, 1, 10, 100, data.count / 3, data.count / 2, data.count - 9, data.count - 8, data.count - 4, data.count - 1] {
            let error = verifyError(data.prefix(cut))
            guard case .truncated = error else {
                Issue.record("cut at \(cut) of \(data.count): expected truncated, got \(String(describing: error))")
                continue
            }
        }
    }

    @Test func flippedByteInCompressedFileDataIsDetected() throws {
        let data = try goodArchive()
        // The random file is stored nearly verbatim, so the middle of the archive is its data.
        var damaged = data
        damaged[data.count / 2] ^= 0x55
        let error = verifyError(damaged)
        switch error {
        case .checksumMismatch(let path, _, _):
            #expect(path == "\(Self.id)/random.bin")
        case .corruptGzip(let message):
            #expect(message.contains("random.bin") || message.contains("check"), "\(message)")
        default:
            Issue.record("expected a checksum or gzip error, got \(String(describing: error))")
        }
    }

    @Test func trailingGarbageIsAnError() throws {
        let data = try goodArchive()
        let error = verifyError(data + Data("garbage".utf8))
        guard case .corruptGzip(let message) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("follows the gzip stream"))

        let temp = try TemporaryDirectory()
        let url = temp.path("t.tgz")
        let file = TestData.text(100, seed: 34)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", file),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", file)]))],
                        to: url, tarTrailer: Data("junk after the end blocks".utf8))
        guard case .trailingData(let offset) = verifyError(url) else { Issue.record("expected trailingData"); return }
        #expect(offset > 0 && offset % 512 == 0)
    }

    @Test func pythonArchiveWithoutDefectsVerifies() throws {
        // Guards the fixtures below: only the defect each one adds makes it fail.
        let temp = try TemporaryDirectory()
        let url = temp.path("ok.tgz")
        let file = TestData.text(100, seed: 35)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", file),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", file)]))], to: url)
        #expect(verifyError(url) == nil)
    }

    @Test func missingMetadata() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", Data("x".utf8))], to: url)
        #expect(verifyError(url) == .missingMetadata)
    }

    @Test func metadataNotJSON() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/backup_metadata.json", Data("not json {".utf8))], to: url)
        #expect(verifyError(url) == .invalidMetadata("not valid JSON"))
    }

    @Test func metadataMissingAField() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/backup_metadata.json", Data("{\"format\":\"x\"}".utf8))], to: url)
        guard case .invalidMetadata(let message) = verifyError(url) else { Issue.record("expected invalidMetadata"); return }
        #expect(message.contains("missing field"))
    }

    @Test func metadataListsAnAbsentFile() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        let a = Data("a".utf8), b = Data("b".utf8)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", a),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", a), ("b.txt", b)]))],
                        to: url)
        #expect(verifyError(url) == .missingFile("\(Self.id)/b.txt"))
    }

    @Test func unlistedFile() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        let a = Data("a".utf8)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", a), fileMember("\(Self.id)/extra.txt", a),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", a)]))], to: url)
        #expect(verifyError(url) == .unlistedFile("\(Self.id)/extra.txt"))
    }

    @Test func listedFileWithDifferentContent() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", Data("abc".utf8)),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", Data("abd".utf8))]))],
                        to: url)
        guard case .checksumMismatch(let path, _, _) = verifyError(url) else { Issue.record("expected checksumMismatch"); return }
        #expect(path == "\(Self.id)/a.txt")
    }

    @Test func twoTopLevelFolders() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        let a = Data("a".utf8)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/a.txt", a), fileMember("other/b.txt", a),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", a)]))], to: url)
        #expect(verifyError(url) == .multipleTopLevel([Self.id, "other"]))
    }

    @Test func dotDotMember() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([fileMember("../evil", Data("x".utf8))], to: url)
        guard case .invalidPath(let path, let reason) = verifyError(url) else { Issue.record("expected invalidPath"); return }
        #expect(path == "../evil" && reason.contains(".."))
    }

    @Test func absoluteMember() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([fileMember("/etc/evil", Data("x".utf8))], to: url)
        guard case .invalidPath("/etc/evil", _) = verifyError(url) else { Issue.record("expected invalidPath"); return }
    }

    @Test func symlinkMember() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), ["name": "\(Self.id)/link", "type": "symlink", "link": "/etc/passwd"]], to: url)
        #expect(verifyError(url) == .unsupportedEntry(path: "\(Self.id)/link", type: "symbolic link"))
    }

    @Test func metadataMustBeLast() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        let a = Data("a".utf8)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", a)])),
                         fileMember("\(Self.id)/a.txt", a)], to: url)
        #expect(verifyError(url) == .metadataNotLast("\(Self.id)/a.txt"))
    }

    @Test func backupIDMustMatchFolderAndExpectation() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("m.tgz")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [], id: "other"))],
                        to: url)
        #expect(verifyError(url) == .wrongBackupID(expected: Self.id, found: "other"))
        #expect(verifyError(try goodArchive(), expectedBackupID: "db_x") == .wrongBackupID(expected: "db_x", found: Self.id))
    }

    @Test func notGzipAtAll() throws {
        guard case .corruptGzip = verifyError(Data(repeating: 0x41, count: 2000)) else { Issue.record("expected corruptGzip"); return }
    }

    @Test func readerChecksExpectedDigests() throws {
        let data = try goodArchive()
        let wrong = FileRecord(path: "text.txt", size: 400_000, sha256: String(repeating: "0", count: 64), mode: 0o644, mtime: 0)
        let error = archiveError { _ = try readAllEntries(DataByteSource(data), expectedFiles: ["\(Self.id)/text.txt": wrong]) }
        guard case .checksumMismatch("\(Self.id)/text.txt", let expected, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(expected == wrong.sha256)
    }

    @Test func errorMessagesNameTheProblem() {
        #expect(ArchiveError.sizeMismatch(path: "dump.rdb", declared: 10, actual: 7).description.contains("declared 10 bytes, got 7"))
        #expect(ArchiveError.missingFile("id/x").description.contains("'id/x'"))
        #expect(ArchiveError.corruptTar(offset: 1024, "bad").description.contains("1024"))
    }
}
