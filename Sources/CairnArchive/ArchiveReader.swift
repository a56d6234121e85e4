import CairnCore
import Crypto
import Foundation

/// Reads a .tar.gz or .tar.zst (ours, or one written by GNU tar / Python tarfile, including
/// multi-member gzip, pax 'x' and 'g' headers, GNU 'L' long names, ustar prefix); the format
/// is recognised by its magic bytes.
///
/// Reading to the end (next() returning nil) also checks that the gzip stream is complete
/// and that nothing but zero padding follows the end-of-archive blocks.
public final class ArchiveReader {
    private static let blockSize = 512
    /// Caps for header data held in memory: a hostile archive must not make us allocate gigabytes.
    private static let maxExtendedHeader: Int64 = 1 << 20
    private static let maxLongName: Int64 = 64 << 10

    private let decompression: ArchiveDecompression
    private let expectedFiles: [String: FileRecord]?
    private let scratch: UnsafeMutableRawBufferPointer
    private var header = [UInt8](repeating: 0, count: 512)
    private var globalPax: [String: String] = [:]
    /// Uncompressed tar bytes consumed.
    private(set) var uncompressedBytesRead: Int64 = 0
    private var ended = false

    // The current entry's data.
    private var currentPath: String?
    private var currentSize: Int64 = 0
    private var remaining: Int64 = 0
    private var pendingPadding = 0
    private var hasher: SHA256?

    /// SHA-256 (hex) and size of the most recently completed file entry.
    public private(set) var lastDigest: (sha256: String, size: Int64)?
    /// Sees every entry and every completed file, whoever drives the reader (a plugin reading
    /// its backup): the host's structure checks ride along on the same pass.
    public var observer: ArchiveStructureCheck?
    public var compressedBytesRead: Int64 { decompression.compressedBytesRead }

    /// expectedFiles: when given (keyed by full member path, e.g. "<id>/dump.rdb"), each file's
    /// SHA-256 and size are compared at the end of its data and a mismatch throws
    /// ArchiveError.checksumMismatch.
    public init(source: ByteSource, expectedFiles: [String: FileRecord]? = nil) {
        decompression = ArchiveDecompression(source: source)
        self.expectedFiles = expectedFiles
        scratch = .allocate(byteCount: 64 << 10, alignment: 16)
    }

    deinit { scratch.deallocate() }

    /// Next entry (full member path as stored, without trailing "/" for directories), or nil
    /// at the end of the archive. Skips (and hashes) unread data of the previous entry.
    /// Links, devices, FIFOs throw ArchiveError.unsupportedEntry(path, type); calling next()
    /// again skips them.
    public func next() throws -> ArchiveEntry? {
        if ended { return nil }
        _ = try skipData()
        try skip(pendingPadding)
        pendingPadding = 0
        let previous = currentPath
        currentPath = nil
        hasher = nil

        var headers = MemberHeaders()
        while true {
            let headerOffset = uncompressedBytesRead
            let n = try readBlock()
            if n == 0 {
                throw ArchiveError.truncated("no end-of-archive blocks at uncompressed offset \(headerOffset)"
                                             + (previous.map { " (after '\(ArchivePath.shown($0))')" } ?? ""))
            }
            if n < Self.blockSize {
                throw ArchiveError.truncated("the header at uncompressed offset \(headerOffset) is cut after \(n) bytes")
            }
            let block = TarHeaderBlock(bytes: header)
            if block.isZero {
                try readEndOfArchive(at: headerOffset)
                return nil
            }
            guard block.hasValidChecksum else {
                throw ArchiveError.corruptTar(offset: headerOffset, "header checksum mismatch: not a tar header, or damaged"
                                              + (previous.map { " (after '\(ArchivePath.shown($0))')" } ?? ""))
            }
            guard let headerSize = block.size else {
                throw ArchiveError.corruptTar(offset: headerOffset, "invalid size field")
            }
            switch block.typeflag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let data = try readMetadataBlock(size: headerSize, limit: Self.maxExtendedHeader, offset: headerOffset)
                switch PaxRecords.parse(data) {
                case .success(let records):
                    if block.typeflag == UInt8(ascii: "x") {
                        try headers.addPax(records, offset: headerOffset)
                    } else {
                        try MemberHeaders.checkGlobal(records, offset: headerOffset)
                        globalPax.merge(records) { $1 }
                    }
                case .failure(let failure):
                    throw ArchiveError.corruptTar(offset: headerOffset + Int64(Self.blockSize) + Int64(failure.offset),
                                                  "malformed pax extended header record")
                }
                continue
            case UInt8(ascii: "L"):
                let data = try readMetadataBlock(size: headerSize, limit: Self.maxLongName, offset: headerOffset)
                try headers.addLongName(String(decoding: data.prefix { $0 != 0 }, as: UTF8.self), offset: headerOffset)
                continue
            case UInt8(ascii: "K"):
                _ = try readMetadataBlock(size: headerSize, limit: Self.maxLongName, offset: headerOffset)
                continue
            default:
                break
            }

            let pax = headers.pax
            var path = pax["path"] ?? headers.longName ?? block.name
            let size = try pax["size"].map { value -> Int64 in
                guard let size = Int64(value), size >= 0 else {
                    throw ArchiveError.corruptTar(offset: headerOffset, "invalid pax size '\(value)'")
                }
                return size
            } ?? headerSize
            let mtimeText = pax["mtime"] ?? globalPax["mtime"]
            let mtime = mtimeText.flatMap(Self.parsePaxTime) ?? block.mtime ?? 0
            let mode = UInt32((block.mode ?? 0) & 0o7777)

            currentPath = path
            currentSize = size
            remaining = size
            pendingPadding = TarHeaderEncoder.padding(size)

            let kind: ArchiveEntry.Kind
            switch block.typeflag {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                // Pre-POSIX archives mark directories only by the trailing slash.
                kind = block.typeflag == 0 && path.hasSuffix("/") ? .directory : .file
            case UInt8(ascii: "5"):
                kind = .directory
            default:
                throw ArchiveError.unsupportedEntry(path: path, type: Self.typeName(block.typeflag))
            }
            if pax.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw ArchiveError.unsupportedEntry(path: path, type: "GNU sparse file")
            }
            if kind == .directory {
                while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
                currentPath = path
                // GNU tar does not skip a directory's data as Cairn would: it reads it as headers.
                guard size == 0 else {
                    throw ArchiveError.corruptTar(offset: headerOffset, "directory '\(ArchivePath.shown(path))' declares \(size) bytes of data; directories hold none")
                }
            }
            // Every reader (verify, a component's validation, restore) refuses the same names.
            if let problem = ArchivePath.problem(path) { throw ArchiveError.invalidPath(path, reason: problem) }
            if kind == .directory {
                let entry = ArchiveEntry(path: path, kind: .directory, mode: mode, mtime: mtime, size: 0)
                try observer?.entry(entry)
                return entry
            }
            let entry = ArchiveEntry(path: path, kind: .file, mode: mode, mtime: mtime, size: size)
            try observer?.entry(entry)
            hasher = SHA256()
            if size == 0 { try completeFile() }
            return entry
        }
    }

    /// Reads data of the current file entry; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard remaining > 0, buffer.count > 0 else { return 0 }
        let want = Int(min(Int64(buffer.count), remaining))
        let target = UnsafeMutableRawBufferPointer(rebasing: buffer.prefix(want))
        let n = try streamRead(into: target)
        if n == 0 {
            throw ArchiveError.truncated("'\(currentPath ?? "?")' ends after \(currentSize - remaining) of its \(currentSize) bytes")
        }
        hasher?.update(bufferPointer: UnsafeRawBufferPointer(rebasing: target.prefix(n)))
        remaining -= Int64(n)
        if remaining == 0 { try completeFile() }
        return n
    }

    /// Reads (and hashes) the rest of the current file entry, or `limit` bytes of it, without
    /// handing them out; their count (0 at the entry's end).
    public func skipData(upTo limit: Int64 = .max) throws -> Int64 {
        var skipped: Int64 = 0
        while remaining > 0 && skipped < limit {
            let want = min(remaining, limit - skipped, Int64(scratch.count))
            skipped += Int64(try read(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(Int(want)))))
        }
        return skipped
    }

    // MARK: - Internals

    private func completeFile() throws {
        guard let hash = hasher?.finalize(), let path = currentPath else { return }
        hasher = nil
        let digest = hash.hexString
        lastDigest = (sha256: digest, size: currentSize)
        observer?.file(path, digest: hash, size: currentSize)
        if let expected = expectedFiles?[path], expected.sha256 != digest || expected.size != currentSize {
            throw ArchiveError.checksumMismatch(path: path, expected: expected.sha256, actual: digest)
        }
    }

    /// Two zero blocks end the archive; writers may pad further with zeros (GNU tar fills its
    /// 10 KiB record), anything else is trailing data. Reading to the end also lets the gzip
    /// layer check its CRC and length.
    private func readEndOfArchive(at offset: Int64) throws {
        let n = try readBlock()
        if n < Self.blockSize {
            throw ArchiveError.truncated("the archive ends after a single end-of-archive block at uncompressed offset \(offset)")
        }
        guard header.allSatisfy({ $0 == 0 }) else {
            throw ArchiveError.corruptTar(offset: offset + Int64(Self.blockSize),
                                          "a header follows a single zero block; the archive is damaged")
        }
        while true {
            let start = uncompressedBytesRead
            let n = try streamRead(into: scratch)
            if n == 0 { break }
            if let index = scratch.prefix(n).firstIndex(where: { $0 != 0 }) {
                throw ArchiveError.trailingData(offset: start + Int64(index))
            }
        }
        ended = true
    }

    /// Data of a pax or GNU long-name header, held in memory, with its padding consumed.
    private func readMetadataBlock(size: Int64, limit: Int64, offset: Int64) throws -> [UInt8] {
        guard size <= limit else {
            throw ArchiveError.corruptTar(offset: offset, "extended header of \(size) bytes exceeds the \(limit)-byte limit")
        }
        var data = [UInt8](repeating: 0, count: Int(size))
        let n = try data.withUnsafeMutableBytes { try readFully(into: $0) }
        guard n == Int(size) else { throw ArchiveError.truncated("extended header at uncompressed offset \(offset) is cut") }
        try skip(TarHeaderEncoder.padding(size))
        return data
    }

    private func readBlock() throws -> Int {
        try header.withUnsafeMutableBytes { try readFully(into: $0) }
    }

    private func skip(_ count: Int) throws {
        guard count > 0 else { return }
        let n = try readFully(into: UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(count)))
        if n < count { throw ArchiveError.truncated("the archive ends inside block padding at uncompressed offset \(uncompressedBytesRead)") }
    }

    private func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try streamRead(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads decompressed bytes, naming the member being read in gzip errors.
    private func streamRead(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        do {
            let n = try decompression.read(into: buffer)
            uncompressedBytesRead += Int64(n)
            return n
        } catch ArchiveError.corruptGzip(let detail) where currentPath != nil {
            throw ArchiveError.corruptGzip("\(detail), while reading '\(currentPath!)'")
        } catch ArchiveError.corruptZstd(let detail) where currentPath != nil {
            throw ArchiveError.corruptZstd("\(detail), while reading '\(currentPath!)'")
        } catch ArchiveError.truncated(let detail) where currentPath != nil {
            throw ArchiveError.truncated("\(detail), while reading '\(currentPath!)'")
        }
    }

    /// Pax times are decimal seconds, possibly fractional or negative.
    private static func parsePaxTime(_ text: String) -> Int64? {
        guard let value = Double(text), value.isFinite, abs(value) < 9e18 else { return nil }
        return Int64(value.rounded(.down))
    }

    private static func typeName(_ flag: UInt8) -> String {
        switch flag {
        case UInt8(ascii: "1"): return "hard link"
        case UInt8(ascii: "2"): return "symbolic link"
        case UInt8(ascii: "3"): return "character device"
        case UInt8(ascii: "4"): return "block device"
        case UInt8(ascii: "6"): return "FIFO"
        case UInt8(ascii: "D"): return "GNU incremental directory dump"
        case UInt8(ascii: "M"): return "GNU multi-volume continuation"
        case UInt8(ascii: "S"): return "GNU sparse file"
        case UInt8(ascii: "V"): return "volume label"
        default:
            let printable = flag >= 0x20 && flag < 0x7f ? String(UnicodeScalar(flag)) : "\\(\(flag))"
            return "member of unknown type '\(printable)'"
        }
    }
}
