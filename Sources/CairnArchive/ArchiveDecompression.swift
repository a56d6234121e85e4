import CairnCore

/// Decompressed bytes of an archive, whatever it was compressed with.
protocol ArchiveDecompressor: AnyObject {
    /// Fills `buffer` with up to `buffer.count` decompressed bytes; 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Bytes read from the source so far.
    var compressedBytesRead: Int64 { get }
}

/// Picks the decompressor by the stream's first bytes (zstd's magic, else gzip, whose decoder
/// names anything that is not gzip), so every reader handles every format Cairn writes.
final class ArchiveDecompression: ArchiveDecompressor {
    private static let zstdMagic: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd]
    private let source: ByteSource
    private var decoder: ArchiveDecompressor?

    init(source: ByteSource) { self.source = source }

    var compressedBytesRead: Int64 { decoder?.compressedBytesRead ?? 0 }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let decoder { return try decoder.read(into: buffer) }
        var peeked = [UInt8](repeating: 0, count: 4)
        var count = 0
        while count < 4 {
            let n = try peeked.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...])) }
            if n == 0 { break }
            count += n
        }
        let replay = ReplaySource(prefix: Array(peeked.prefix(count)), rest: source)
        let isZstd = count == 4 && (peeked == Self.zstdMagic || peeked[1...3] == [0x2a, 0x4d, 0x18] && peeked[0] & 0xf0 == 0x50)
        let made: ArchiveDecompressor = isZstd ? ZstdDecoder(source: replay) : GzipDecoder(source: replay)
        decoder = made
        return try made.read(into: buffer)
    }
}

/// A source that hands out bytes already read before the rest.
private final class ReplaySource: ByteSource {
    private var prefix: [UInt8]
    private let rest: ByteSource

    init(prefix: [UInt8], rest: ByteSource) { self.prefix = prefix; self.rest = rest }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !prefix.isEmpty else { return try rest.read(into: buffer) }
        let n = min(prefix.count, buffer.count)
        prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: n) }
        prefix.removeFirst(n)
        return n
    }
}
