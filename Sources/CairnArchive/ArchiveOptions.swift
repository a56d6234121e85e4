import CairnCore
import Foundation

/// Tuning for ArchiveWriter. The defaults suit a small server: compression uses the active
/// cores (at most 4, beyond which the caller's reading and hashing becomes the bottleneck).
public struct ArchiveOptions: Sendable {
    /// gzip (the default) or zstd.
    public var format: ArchiveFormat
    /// The format's level (ArchiveFormat.levels); gzip also takes 0, which stores.
    public var compressionLevel: Int32
    /// Compression worker threads, >= 1.
    public var threads: Int
    /// Uncompressed bytes per compression job, >= 64 KiB.
    public var chunkSize: Int
    /// Where entries of unknown size are spooled until their size is known.
    public var spoolDirectory: URL

    public static var defaultThreads: Int { min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)) }
    /// Measured on 307 MB of mixed data with 2 threads: 128 KiB...2 MiB chunks all ran at the
    /// same speed and ratio (within 0.02 %), while memory grows with the chunk size (each chunk
    /// in flight holds ~2x its size). 512 KiB keeps the ratio of the larger ones at low memory.
    public static let defaultChunkSize = 512 << 10

    public init(format: ArchiveFormat = .gzip, compressionLevel: Int32? = nil, threads: Int = ArchiveOptions.defaultThreads,
                chunkSize: Int = ArchiveOptions.defaultChunkSize,
                spoolDirectory: URL = FileManager.default.temporaryDirectory) {
        self.format = format
        self.compressionLevel = compressionLevel ?? format.defaultLevel; self.threads = threads
        self.chunkSize = chunkSize; self.spoolDirectory = spoolDirectory
    }

    func validate() throws {
        let levels = format == .gzip ? 0...format.levels.upperBound : format.levels
        guard levels.contains(compressionLevel) else {
            throw ArchiveError.invalidOptions("\(format.rawValue) level \(compressionLevel) is outside \(levels.lowerBound)...\(levels.upperBound)")
        }
        guard (1...64).contains(threads) else {
            throw ArchiveError.invalidOptions("threads \(threads) is outside 1...64")
        }
        guard chunkSize >= 64 << 10, chunkSize <= 64 << 20 else {
            throw ArchiveError.invalidOptions("chunk size \(chunkSize) is outside 64 KiB...64 MiB")
        }
    }
}
