import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Files that exercise names (ustar split, pax, UTF-8), sizes (empty, around block and chunk
/// boundaries), spooling, and data kinds (random and compressible over many chunks).
func roundTripFiles(chunkSize: Int) -> (directories: [String], files: [TestFile]) {
    let longName = "long/" + String(repeating: "n", count: 130)
    let longPath = (0..<5).map { "segment\($0)-" + String(repeating: "p", count: 44) }.joined(separator: "/") + "/file.bin"
    var files = [
        TestFile(path: "empty.txt", data: Data()),
        TestFile(path: "a/b/c/nested.txt", data: TestData.text(1000, seed: 1), mode: 0o600, mtime: 1_234_567_890),
        TestFile(path: longName, data: TestData.text(777, seed: 2)),
        TestFile(path: longPath, data: TestData.random(5000, seed: 3), mode: 0o755),
        TestFile(path: "données/résumé-日本.txt", data: TestData.text(4096, seed: 4)),
        TestFile(path: "spooled.log", data: TestData.text(3 * chunkSize + 12345, seed: 5), unknownSize: true),
        TestFile(path: "spooled-empty", data: Data(), unknownSize: true),
        TestFile(path: "random.bin", data: TestData.random(3 * chunkSize + 7, seed: 6)),
        TestFile(path: "text.txt", data: TestData.text(5 * chunkSize, seed: 7)),
        TestFile(path: "epoch", data: Data("old".utf8), mtime: 0),
        // Outside ustar's 11 octal digits: carried by pax.
        TestFile(path: "before-epoch", data: Data("older".utf8), mtime: -86_400),
        TestFile(path: "far-future", data: Data("later".utf8), mtime: 10_000_000_000),
    ]
    for (index, size) in [511, 512, 513, chunkSize - 1, chunkSize, chunkSize + 1, chunkSize - 512].enumerated() {
        files.append(TestFile(path: "edge/size-\(size)", data: TestData.random(size, seed: UInt64(100 + index))))
    }
    let directories = ["a", "a/b", "a/b/c", "long", "données", "edge", "empty-dir"]
        + (0..<5).map { i in (0...i).map { "segment\($0)-" + String(repeating: "p", count: 44) }.joined(separator: "/") }
    return (directories, files)
}

struct ArchiveRoundTripTests {
    static let smallChunks = ArchiveOptions(threads: 3, chunkSize: 64 << 10)

    @Test func writeReadVerifyRoundTrip() throws {
        let (directories, files) = roundTripFiles(chunkSize: Self.smallChunks.chunkSize)
        let sink = DataByteSink()
        let written = try writeArchive(id: "redis_20261126_190102", directories: directories, files: files,
                                       sink: sink, options: Self.smallChunks, piece: 10_000)

        // The writer's manifest lists files only, in order, with correct sizes.
        #expect(written.files.map(\.path) == files.map(\.path))
        #expect(written.files.map(\.size) == files.map { Int64($0.data.count) })

        // Read back with tiny source reads, checking digests against the manifest as we go.
        let expected = Dictionary(uniqueKeysWithValues: written.files.map { ("redis_20261126_190102/\($0.path)", $0) })
        let entries = try readAllEntries(DataByteSource(sink.data, maxReadSize: 1000), expectedFiles: expected)
        let expectedNames = ["redis_20261126_190102"] + directories.map { "redis_20261126_190102/\($0)" }
            + files.map { "redis_20261126_190102/\($0.path)" } + ["redis_20261126_190102/backup_metadata.json"]
        #expect(entries.map(\.entry.path) == expectedNames)
        for file in files {
            let entry = try #require(entries.first { $0.entry.path == "redis_20261126_190102/\(file.path)" })
            #expect(entry.entry.kind == .file)
            #expect(entry.data == file.data, "data of \(file.path)")
            #expect(entry.entry.mode == file.mode)
            #expect(entry.entry.mtime == file.mtime)
            #expect(entry.entry.size == Int64(file.data.count))
        }
        let directory = try #require(entries.first { $0.entry.path == "redis_20261126_190102/a/b" })
        #expect(directory.entry.kind == .directory && directory.entry.mode == 0o750 && directory.entry.mtime == 1_600_000_000)
        #expect(try BackupMetadata.decode(entries.last!.data) == written.metadata)

        let verified = try ArchiveVerifier.verify(source: DataByteSource(sink.data), expectedBackupID: "redis_20261126_190102")
        #expect(verified.rootFolder == "redis_20261126_190102")
        #expect(verified.metadata == written.metadata)
        #expect(verified.compressedBytes == Int64(sink.data.count))
        #expect(verified.uncompressedBytes % 512 == 0 && verified.uncompressedBytes > 14 * Int64(Self.smallChunks.chunkSize))
    }

    @Test func paxRecordLengthsCountThemselves() throws {
        // Lengths cross digit boundaries (9/10, 99/100, 999/1000) as the value grows.
        for count in 0..<1100 {
            let value = String(repeating: "v", count: count)
            let encoded = PaxRecords.encode([(key: "path", value: value)])
            let declared = Int(String(decoding: encoded.prefix { $0 != 0x20 }, as: UTF8.self))
            #expect(declared == encoded.count, "value length \(count)")
            #expect(try PaxRecords.parse(encoded).get() == ["path": value])
        }
    }

    @Test func hugeSizeGoesToPax() throws {
        let size: Int64 = 9_663_676_539  // 9 GiB + 123: beyond ustar's octal size field
        let headers = TarHeaderEncoder.headers(name: "id/big", isDirectory: false, mode: 0o644, mtime: 1, size: size)
        #expect(headers.count == 3 * 512)
        #expect(headers[156] == UInt8(ascii: "x"))
        let records = try PaxRecords.parse(Array(headers[512..<1024].prefix { $0 != 0 })).get()
        #expect(records == ["size": "9663676539"])
        let ustar = TarHeaderBlock(bytes: Array(headers[1024...]))
        #expect(ustar.hasValidChecksum && ustar.name == "id/big" && ustar.typeflag == UInt8(ascii: "0"))
    }

    @Test func countersMatchOutput() throws {
        let sink = DataByteSink()
        let writer = try ArchiveWriter(sink: sink, rootFolder: "id", options: Self.smallChunks)
        let data = TestData.text(300_000, seed: 9)
        try writer.begin(ArchiveEntry(path: "t", kind: .file, mode: 0o644, mtime: 1, size: Int64(data.count)))
        try data.withUnsafeBytes { try writer.write($0) }
        try writer.end()
        try writer.finish(metadata: testMetadata(id: "id", files: writer.files).encoded())
        #expect(writer.compressedBytes == Int64(sink.data.count))
        #expect(writer.uncompressedBytes % 512 == 0)
        #expect(writer.uncompressedBytes > 300_000)
        // One gzip member per chunk: each header declares the member's size, each trailer its
        // uncompressed size; together they account for every byte.
        let bytes = [UInt8](sink.data)
        var offset = 0, isizes: Int64 = 0, members = 0
        func le32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        while offset < bytes.count {
            #expect(bytes[offset] == 0x1f && bytes[offset + 1] == 0x8b && bytes[offset + 12] == UInt8(ascii: "C"))
            let size = le32(offset + 16)
            #expect(le32(offset + size - 4) == le32(offset + 20), "ISIZE equals the declared size")
            isizes += Int64(le32(offset + size - 4))
            offset += size; members += 1
        }
        #expect(offset == bytes.count)
        #expect(members > 1)
        #expect(isizes == writer.uncompressedBytes)
    }

    @Test(arguments: [Int32(0), 1, 9])
    func compressionLevels(level: Int32) throws {
        let sink = DataByteSink()
        let files = [TestFile(path: "t.txt", data: TestData.text(400_000, seed: 11)),
                     TestFile(path: "r.bin", data: TestData.random(200_000, seed: 12))]
        _ = try writeArchive(id: "lvl", files: files, sink: sink,
                             options: ArchiveOptions(compressionLevel: level, threads: 2, chunkSize: 64 << 10))
        let verified = try ArchiveVerifier.verify(source: DataByteSource(sink.data))
        #expect(verified.metadata.files.count == 2)
        if level == 0 { #expect(sink.data.count > 600_000) } else { #expect(sink.data.count < 450_000) }
    }

    @Test func singleThreadAndDefaultOptionsProduceTheSameContent() throws {
        let files = [TestFile(path: "t.txt", data: TestData.text(3_000_000, seed: 13))]
        let one = DataByteSink(), many = DataByteSink()
        _ = try writeArchive(id: "x", files: files, sink: one, options: ArchiveOptions(threads: 1))
        _ = try writeArchive(id: "x", files: files, sink: many)
        let a = try readAllEntries(DataByteSource(one.data)), b = try readAllEntries(DataByteSource(many.data))
        #expect(a.map(\.entry.path) == b.map(\.entry.path))
        #expect(a[1].data == files[0].data && b[1].data == files[0].data)
    }

    @Test func spoolFileIsUnlinkedWhileWriting() throws {
        let spool = try TemporaryDirectory()
        let writer = try ArchiveWriter(sink: DataByteSink(), rootFolder: "id", options: ArchiveOptions(spoolDirectory: spool.url))
        try writer.begin(ArchiveEntry(path: "s", kind: .file, mode: 0o644, mtime: 1, size: nil))
        let data = TestData.random(1_000_000, seed: 14)
        try data.withUnsafeBytes { try writer.write($0) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.url.path).isEmpty)
        try writer.end()
        #expect(writer.files.last?.size == 1_000_000)
        writer.abandon()
    }
}
