import CairnCore

/// How an archive's tar stream is compressed (cairn.yaml `compression.format`). Readers do not
/// ask: they recognise the format by its magic bytes (ArchiveDecompression).
public enum ArchiveFormat: String, Sendable, CaseIterable, Codable {
    /// Gzip members compressed by libdeflate: what the runbook's `tar -xzf` and `latest.tar.gz` expect.
    case gzip
    /// A multi-threaded zstd stream (`tar --zstd`, `zstd -t`).
    case zstd

    /// The file extension after `.tar`.
    public var fileExtension: String {
        switch self {
        case .gzip: return ".gz"
        case .zstd: return ".zst"
        }
    }

    /// The levels the engine offers: libdeflate 1...12, zstd 1...19 (20...22 need far more memory).
    public var levels: ClosedRange<Int32> {
        switch self {
        case .gzip: return 1...12
        case .zstd: return 1...19
        }
    }

    /// gzip: libdeflate's level 5, not gzip's 6. On mixed data (docs/performance.md) it needs
    /// a fifth less CPU than libdeflate's 6 for 0.07 % more bytes, and is still 2.4 % smaller
    /// than `gzip -6`.
    public var defaultLevel: Int32 {
        switch self {
        case .gzip: return 5
        case .zstd: return 3
        }
    }

    /// What each end of the level range means, for error messages and help.
    public var levelAdvice: String {
        switch self {
        case .gzip: return "gzip (libdeflate) takes 1 (fastest) to 12 (smallest, much slower); 5, the default, is already smaller than gzip -6"
        case .zstd: return "zstd takes 1 (fastest) to 19 (smallest, much slower); 3 is zstd's default"
        }
    }
}
