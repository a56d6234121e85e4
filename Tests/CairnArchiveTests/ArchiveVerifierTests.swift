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
        // Only hashes of the names are kept: the file is named by its place, as tar -t lists it.
        guard case .unlistedFile(let place) = verifyError(url) else { Issue.record("expected unlistedFile"); return }
        #expect(place == "member 3 in archive order (1 bytes, SHA-256 \(SHA256.hash(data: a).hexString))", "\(place)")
        let listing = try runTool(["tar", "-tzf", url.path]).text.split(separator: "\n")
        #expect(listing[2] == "\(Self.id)/extra.txt")
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

    // MARK: - Headers GNU tar reads differently, names a restore cannot create

    /// The error every reader gives, verify's and the one a restore streams through.
    private func readError(_ url: URL) -> ArchiveError? {
        archiveError { _ = try readAllEntries(try FileByteSource(path: url.path)) }
    }

    @Test func aGlobalHeaderThatRenamesMembersIsRefusedByVerifyAndRestore() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("g.tgz")
        let file = TestData.text(100, seed: 36)
        let members = [dirMember(Self.id), fileMember("\(Self.id)/a.txt", file),
                       fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("a.txt", file)]))]
        try pythonTarGz(members, to: url, globalHeaders: ["path": "elsewhere/escaped.txt"])
        // GNU tar gives every member the global name: none of what Cairn would read is extracted.
        let listing = try runTool(["tar", "-tzf", url.path]).text.split(separator: "\n").map(String.init)
        #expect(listing == Array(repeating: "elsewhere/escaped.txt", count: 3), "\(listing)")
        for error in [verifyError(url), readError(url)] {
            guard case .corruptTar(_, let message) = error else { Issue.record("expected corruptTar, got \(String(describing: error))"); continue }
            #expect(message.contains("a pax global header sets 'path', which GNU tar applies to every member that follows"), "\(message)")
        }

        // size too; and a global header that changes nothing about the members is read as before.
        try pythonTarGz(members, to: url, globalHeaders: ["size": "1", "comment": "x"])
        guard case .corruptTar(_, let message) = verifyError(url) else { Issue.record("expected corruptTar"); return }
        #expect(message.contains("sets 'size'") && !message.contains("'comment'"), "\(message)")
        try pythonTarGz(members, to: url, globalHeaders: ["comment": "made elsewhere", "mtime": "1600000000"])
        #expect(verifyError(url) == nil)
        #expect(try readAllEntries(try FileByteSource(path: url.path))[1].entry.mtime == 1_600_000_000)
    }

    @Test func twoPaxHeadersForOneMemberAreRefused() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("x.tgz")
        let file = TestData.text(100, seed: 37)
        try pythonTarGz([dirMember(Self.id), ["name": "x", "type": "pax", "pax": #"{"path": "\#(Self.id)/first.txt"}"#],
                         fileMember("\(Self.id)/a.txt", file).merging(["pax": #"{"comment": "second"}"#]) { $1 },
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [("first.txt", file)]))], to: url)
        // GNU tar keeps only the last header, so it names the file a.txt; merging both said first.txt.
        let listing = try runTool(["tar", "-tzf", url.path]).text.split(separator: "\n").map(String.init)
        #expect(listing.contains("\(Self.id)/a.txt") && !listing.contains("\(Self.id)/first.txt"), "\(listing)")
        for error in [verifyError(url), readError(url)] {
            guard case .corruptTar(_, let message) = error else { Issue.record("expected corruptTar, got \(String(describing: error))"); continue }
            #expect(message.contains("a second pax extended header for one member"), "\(message)")
        }
    }

    @Test func aDirectoryWithDataIsRefused() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("d.tgz")
        try pythonTarGz([dirMember(Self.id), ["name": "\(Self.id)/d", "type": "dir", "data": Data(repeating: 0x41, count: 600).base64EncodedString()],
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: []))], to: url)
        #expect(try runTool(["tar", "-tzf", url.path], check: false).status != 0, "GNU tar reads the data as headers and fails")
        for error in [verifyError(url), readError(url)] {
            guard case .corruptTar(_, let message) = error else { Issue.record("expected corruptTar, got \(String(describing: error))"); continue }
            #expect(message.contains("directory '\(Self.id)/d' declares 600 bytes of data"), "\(message)")
        }
    }

    @Test func namesLongerThanARestoreCanCreateAreRefusedByWriterVerifyAndRestore() throws {
        let temp = try TemporaryDirectory()
        let url = temp.path("long.tgz")
        let file = Data("x".utf8)
        // 60 KiB in components of 200 bytes: only a pax path can carry it.
        let long = (0 ..< 300).map { _ in String(repeating: "a", count: 199) }.joined(separator: "/")
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/\(long)", file),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [(long, file)]))], to: url)
        for error in [verifyError(url), readError(url)] {
            guard case .invalidPath(let path, let reason) = error else { Issue.record("expected invalidPath, got \(String(describing: error))"); continue }
            #expect(path == "\(Self.id)/\(long)")
            #expect(reason.contains("more than the 4095 bytes a restore can create"), "\(reason)")
            #expect(error!.description.count < 500, "the message repeats a 60 KiB name")
        }

        // The limit is the same for the writer, and exactly the limit is accepted.
        let fits = String(repeating: "b/", count: (ArchivePath.maxPathBytes - Self.id.utf8.count - 2) / 2) + "c"
        let atLimit = fits.utf8.count + Self.id.utf8.count + 1 == ArchivePath.maxPathBytes ? fits : fits + "c"
        #expect(atLimit.utf8.count + Self.id.utf8.count + 1 == ArchivePath.maxPathBytes)
        let sink = DataByteSink()
        _ = try writeArchive(id: Self.id, files: [TestFile(path: atLimit, data: file)], sink: sink)
        #expect(verifyError(sink.data) == nil)
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: Self.id)
        guard case .invalidPath(_, let reason)? = archiveError({
            try writer.begin(ArchiveEntry(path: atLimit + "d", kind: .file, mode: 0o644, mtime: 0, size: 1))
        }) else { Issue.record("the writer took a name past the limit"); return }
        #expect(reason.contains("more than the 4095 bytes"))

        // One component longer than a file name can be.
        let wide = String(repeating: "w", count: 256)
        try pythonTarGz([dirMember(Self.id), fileMember("\(Self.id)/\(wide)", file),
                         fileMember("\(Self.id)/backup_metadata.json", try metadataJSON(listing: [(wide, file)]))], to: url)
        guard case .invalidPath(_, let why) = verifyError(url) else { Issue.record("expected invalidPath"); return }
        #expect(why.contains("a component is 256 bytes long, more than the 255 bytes a file name can have"), "\(why)")
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
