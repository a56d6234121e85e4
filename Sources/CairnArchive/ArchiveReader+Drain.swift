import Foundation

extension ArchiveReader {
    /// Reads the rest of the current entry, so its checksum is taken; returns its bytes when
    /// `keep` (backup_metadata.json), else nil. A kept entry longer than `limit` is refused as
    /// invalid metadata: it is read into memory, and nothing of ours is that big.
    public func drainEntry(_ entry: ArchiveEntry, keep: Bool, limit: Int = ArchiveVerifier.maxMetadataSize) throws -> Data? {
        guard keep else { _ = try skipData(); return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        var content = Data()
        while true {
            let n = try read(into: buffer)
            if n == 0 { return content }
            guard content.count + n <= limit else {
                throw ArchiveError.invalidMetadata("\(entry.path) is larger than \(limit) bytes")
            }
            content.append(UnsafeRawBufferPointer(rebasing: buffer.prefix(n)).bindMemory(to: UInt8.self))
        }
    }
}
