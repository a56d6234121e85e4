import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
import CairnTestSupport

/// Cairn's gzip members declare their sizes so the reader can take each whole; the reader
/// trusts that hint only as far as the data proves it, and falls back to streaming otherwise.
struct GzipMemberTests {
    static let id = "data_20261126_230000"

    private func archive(_ files: [TestFile] = [
        TestFile(path: "text.txt", data: TestData.text(300_000, seed: 41)),
        TestFile(path: "random.bin", data: TestData.random(200_000, seed: 42)),
    ]) throws -> Data {
        let sink = DataByteSink()
        _ = try writeArchive(id: Self.id, files: files, sink: sink, options: ArchiveOptions(threads: 2, chunkSize: 64 << 10))
        return sink.data
    }

    private func store(_ value: UInt32, in data: inout Data, at offset: Int) {
        for i in 0..<4 { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    @Test func everyMemberDeclaresItsSizes() throws {
        let data = try archive()
        let members = try memberSizes(data)
        for member in members { #expect(member.uncompressed <= 64 << 10) }
        #expect(members.reduce(0) { $0 + $1.size } == data.count && members.count > 6)
    }

    /// A member whose header claims other sizes than its data has is refused, though gzip,
    /// which ignores the hint, reads it.
    @Test func aLyingSizeIsCorruption() throws {
        for field in [16, 20] {
            var data = try archive()
            let value = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: field, as: UInt32.self) }
            store(value - 1, in: &data, at: field)
            let temp = try TemporaryDirectory()
            try data.write(to: temp.path("a.tgz"))
            try runTool(["gzip", "-t", temp.path("a.tgz").path])
            let error = archiveError { _ = try ArchiveVerifier.verify(source: DataByteSource(data)) }
            guard case .corruptGzip(let detail) = error else { Issue.record("field \(field): got \(String(describing: error))"); continue }
            #expect(detail.contains("member at compressed offset 0"), "\(detail)")
        }
    }

    /// A size beyond what is taken whole (hostile, or another writer's) is read by streaming,
    /// in bounded memory, and the archive still verifies when its data is sound.
    @Test func anOversizedClaimIsStreamed() throws {
        var data = try archive()
        store(UInt32.max, in: &data, at: 16)
        store(UInt32.max, in: &data, at: 20)
        let verified = try ArchiveVerifier.verify(source: DataByteSource(data), expectedBackupID: Self.id)
        #expect(verified.metadata.files.count == 2)
    }

    /// Members of other writers (gzip, pigz: no size hint) mixed with ours read as one stream.
    @Test func foreignMembersBetweenOursAreStreamed() throws {
        let ours = try archive()
        let temp = try TemporaryDirectory()
        // Recompress the first member's content with gzip and put it in place of that member.
        let firstSize = ours.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 16, as: UInt32.self).littleEndian) }
        try ours.prefix(firstSize).write(to: temp.path("first.gz"))
        let plain = try runShell("gzip -dc '\(temp.path("first.gz").path)' | gzip -1 -c | base64 -w0").text
        let replaced = try #require(Data(base64Encoded: plain.trimmingCharacters(in: .whitespacesAndNewlines))) + ours.dropFirst(firstSize)
        #expect(replaced != ours)
        let verified = try ArchiveVerifier.verify(source: DataByteSource(replaced), expectedBackupID: Self.id)
        #expect(verified.metadata.files.map(\.path) == ["text.txt", "random.bin"])
    }

    /// Members read ahead and decompressed on threads come out in stream order, byte for byte
    /// what gzip makes of the stream, whatever the read sizes.
    @Test func membersReadAheadComeOutInStreamOrder() throws {
        let data = try bigArchive()
        let temp = try TemporaryDirectory()
        try data.write(to: temp.path("a.tgz"))
        _ = try runShell("gzip -dc '\(temp.path("a.tgz").path)' > '\(temp.path("a.tar").path)'")
        let expected = try Data(contentsOf: temp.path("a.tar"))
        #expect(expected.count > 3_000_000)
        for threads in [1, 2, 4] {
            let (output, error) = decode(data, threads: threads, readSize: 12_345)
            #expect(error == nil, "threads \(threads): \(String(describing: error))")
            #expect(output == expected, "threads \(threads)")
        }
    }

    /// Damage deep in the stream is met in stream order: every byte before the damaged member is
    /// handed out, none after it, and the error names that member, though the threads reading
    /// ahead decompressed later members first.
    @Test func damageAheadIsReportedWhereItIs() throws {
        let data = try bigArchive()
        let members = try memberSizes(data)
        let damaged = members.count / 2
        let (clean, _) = decode(data, threads: 1, readSize: 1 << 20)
        let before = members[..<damaged].reduce(0) { $0 + $1.uncompressed }

        var flipped = data
        flipped[members[damaged].offset + 40] ^= 0x55
        var (output, error) = decode(flipped, threads: 2, readSize: 4096)
        guard case .corruptGzip(let detail) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(detail.contains("member at compressed offset \(members[damaged].offset):"), "\(detail)")
        #expect(output == clean.prefix(before))

        // Cut inside that member: truncation, named at the member, after the same bytes.
        (output, error) = decode(data.prefix(members[damaged].offset + 100), threads: 2, readSize: 4096)
        guard case .truncated(let why) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(why.contains("inside the member at compressed offset \(members[damaged].offset)"), "\(why)")
        #expect(output == clean.prefix(before))
    }

    /// ~3 MB of mixed data in 64 KiB chunks: dozens of members, some stored, most deflated.
    private func bigArchive() throws -> Data {
        try archive([
            TestFile(path: "text.txt", data: TestData.text(1_500_000, seed: 43)),
            TestFile(path: "random.bin", data: TestData.random(600_000, seed: 44)),
            TestFile(path: "more.txt", data: TestData.text(900_000, seed: 45)),
        ])
    }

    /// Each member's offset and the sizes its header declares, walking the stream by them.
    private func memberSizes(_ data: Data) throws -> [(offset: Int, size: Int, uncompressed: Int)] {
        var members: [(offset: Int, size: Int, uncompressed: Int)] = []
        var offset = 0
        while offset < data.count {
            let header = data.withUnsafeBytes { GzipMember.declaredSizes(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + GzipMember.headerSize])) }
            let sizes = try #require(header)
            members.append((offset, sizes.member, sizes.uncompressed))
            offset += sizes.member
        }
        return members
    }

    /// Everything the decoder hands out before it ends or throws, and what it threw.
    private func decode(_ data: Data, threads: Int, readSize: Int) -> (Data, ArchiveError?) {
        let decoder = GzipDecoder(source: DataByteSource(data), threads: threads)
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: readSize)
        do {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try decoder.read(into: $0) }
                if n == 0 { return (output, nil) }
                output.append(contentsOf: buffer[..<n])
            }
        } catch {
            return (output, error as? ArchiveError)
        }
    }
}
