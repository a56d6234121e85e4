import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Random data is stored instead of deflated in vain, and compression resumes when the data
/// turns compressible again, even barely (float32 vectors); the stream stays gzip that gzip and
/// GNU tar read.
struct ArchiveIncompressibleTests {
    static let id = "data_20261126_220000"

    @Test func randomIsStoredThenTextIsCompressedAgain() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("a.tgz")
        let chunk = 64 << 10
        let random = TestData.random(64 * chunk, seed: 21)
        let text = TestData.text(64 * chunk, seed: 22)
        let sink = try FileByteSink(path: archive.path)
        let writer = try ArchiveWriter(sink: sink, rootFolder: Self.id, options: ArchiveOptions(threads: 2, chunkSize: chunk))
        for (path, data, size) in [("random.bin", random, Int64?(Int64(random.count))), ("text.log", text, nil)] {
            try writer.begin(ArchiveEntry(path: path, kind: .file, mode: 0o644, mtime: 0, size: size))
            for start in stride(from: 0, to: data.count, by: 100_000) {
                try data[start..<min(data.count, start + 100_000)].withUnsafeBytes { try writer.write($0) }
            }
            try writer.end()
        }
        try writer.finish(metadata: testMetadata(id: Self.id, files: writer.files).encoded())
        try sink.close()
        // Random chunks were stored (after the first few, compressed while deciding)...
        #expect(writer.chunksStored >= 56, "only \(writer.chunksStored) of 64 random chunks were stored")

        try runTool(["gzip", "-t", archive.path])
        let out = temp.path("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", archive.path, "-C", out.path])
        #expect(try Data(contentsOf: out.appendingPathComponent("\(Self.id)/random.bin")) == random)
        #expect(try Data(contentsOf: out.appendingPathComponent("\(Self.id)/text.log")) == text)

        // ...and the text after them was compressed again: every chunk is probed, none stored blindly.
        let size = try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as! Int
        try text.write(to: temp.path("text.log"))
        let textAlone = Int(try runShell("gzip -6 -c '\(temp.path("text.log").path)' | wc -c").text
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(size > random.count, "random data cannot shrink")
        #expect(size < random.count + textAlone + 4096,
                "stored \(size) bytes; random + gzip -6 of the text is \(random.count + textAlone)")
    }

    /// Float32 vectors after random data: gzip shrinks them by ~7 %, so not one of their chunks
    /// may be stored (the probe once took them for noise, costing 1.7 % of a mixed backup).
    @Test func float32VectorsAfterRandomAreCompressed() throws {
        let temp = try TemporaryDirectory()
        let archive = temp.path("v.tgz")
        let chunk = 64 << 10
        let random = TestData.random(32 * chunk, seed: 23)
        let vectors = TestData.float32(64 * chunk, seed: 24)
        let sink = try FileByteSink(path: archive.path)
        let options = ArchiveOptions(threads: 2, chunkSize: chunk)
        let written = try writeArchive(id: Self.id, files: [TestFile(path: "blob.bin", data: random),
                                                            TestFile(path: "vectors.f32", data: vectors)],
                                       sink: sink, options: options, piece: 100_000)
        try sink.close()
        #expect(written.files.count == 2)
        try runTool(["gzip", "-t", archive.path])

        try vectors.write(to: temp.path("vectors.f32"))
        let gzipped = Int(try runShell("gzip -6 -c '\(temp.path("vectors.f32").path)' | wc -c").text
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(gzipped * 100 < vectors.count * 95, "the test data shrinks by more than 5 % with gzip -6 (\(gzipped) of \(vectors.count))")
        let size = try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as! Int
        // Random stored (+ member overhead), vectors compressed as well as gzip -6 does (0.5 % slack).
        #expect(size < random.count + 32 * 64 + gzipped + vectors.count / 200,
                "archive \(size) bytes; random \(random.count) + gzip -6 of the vectors \(gzipped)")
    }

    /// A chunk that is random but for one compressible stretch is probed across its length,
    /// not by its first bytes: the stretch is found and the chunk compressed.
    @Test func compressibleStretchInsideRandomChunksIsFound() throws {
        let chunk = 256 << 10
        var data = Data()
        for index in 0..<24 {
            var piece = TestData.random(chunk, seed: UInt64(100 + index))
            if index >= 8 {
                // 48 KiB of text at a different place in each chunk (but never at its start).
                let at = 16_384 + (index * 37_000) % (chunk - 65_536)
                piece.replaceSubrange(at..<at + 49_152, with: TestData.text(49_152, seed: index))
            }
            data.append(piece)
        }
        let sink = DataByteSink()
        let options = ArchiveOptions(threads: 2, chunkSize: chunk)
        let writer = try ArchiveWriter(sink: sink, rootFolder: Self.id, options: options)
        try writer.begin(ArchiveEntry(path: "mixed.bin", kind: .file, mode: 0o644, mtime: 0, size: Int64(data.count)))
        try data.withUnsafeBytes { try writer.write($0) }
        try writer.end()
        try writer.finish(metadata: testMetadata(id: Self.id, files: writer.files).encoded())
        // The first 8 chunks are pure noise; those with text cost at most their noise.
        #expect(writer.chunksStored <= 8, "\(writer.chunksStored) chunks stored")
        #expect(Int64(sink.data.count) < Int64(data.count) - 16 * 40_000, "the 16 stretches of text shrank")
        _ = try ArchiveVerifier.verify(source: DataByteSource(sink.data), expectedBackupID: Self.id)
    }
}
