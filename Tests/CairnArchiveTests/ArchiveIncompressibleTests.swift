import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Random data is stored instead of deflated in vain, and compression resumes when the data
/// turns compressible again; the stream stays one gzip member that gzip and GNU tar read.
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
        // Most random chunks were stored without trying (a few decide, a few probe)...
        #expect(writer.chunksStored >= 40, "only \(writer.chunksStored) of 64 random chunks were stored")

        try runTool(["gzip", "-t", archive.path])
        let out = temp.path("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try runTool(["tar", "-xzf", archive.path, "-C", out.path])
        #expect(try Data(contentsOf: out.appendingPathComponent("\(Self.id)/random.bin")) == random)
        #expect(try Data(contentsOf: out.appendingPathComponent("\(Self.id)/text.log")) == text)

        // ...and the text after them was compressed again, all but a few chunks before a probe.
        let size = try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as! Int
        try text.write(to: temp.path("text.log"))
        let textAlone = Int(try runShell("gzip -6 -c '\(temp.path("text.log").path)' | wc -c").text
            .trimmingCharacters(in: .whitespacesAndNewlines))!
        #expect(size > random.count, "random data cannot shrink")
        #expect(size < random.count + textAlone + 8 * chunk,
                "stored \(size) bytes; random + gzip -6 of the text is \(random.count + textAlone)")
    }
}
