import CairnCore
import Crypto
import Foundation

/// Streams a backup archive into a ByteSink. Not thread-safe: one producer.
///
/// Layout: `<rootFolder>/` first, then the entries, then `<rootFolder>/backup_metadata.json`
/// and two zero blocks, as gzip members compressed on `options.threads` threads (ParallelGzipEncoder).
///
/// Errors thrown before anything reached the archive (an invalid path, a write beyond the
/// declared size, calls out of order) leave the writer usable. Any other error leaves it
/// failed: later calls throw, and the caller abandons it and its sink.
public final class ArchiveWriter {
    private enum State { case open, failed(String), finished, abandoned }

    private struct OpenFile {
        var entry: ArchiveEntry
        var declared: Int64?
        var written: Int64 = 0
        var hasher = SHA256()
        var spool: SpoolFile?
    }

    private let rootFolder: String
    private let options: ArchiveOptions
    private let encoder: ArchiveCompressor
    private var state = State.open
    private var current: OpenFile?
    private var memberNames: Set<String> = []
    /// Paths of files, and of every folder implied by an entry's path: a name in both would
    /// make the archive impossible to extract.
    private var filePaths: Set<String> = []
    private var impliedFolders: Set<String> = []

    /// Files written so far (path relative to rootFolder, size, sha256 hex lowercase, mode,
    /// mtime), in archive order. Directories and the metadata file are not listed.
    public private(set) var files: [FileRecord] = []
    /// Tar bytes produced so far.
    public var uncompressedBytes: Int64 { encoder.inputBytes }
    /// Compressed bytes handed to the sink so far.
    public var compressedBytes: Int64 { encoder.outputBytes }

    /// Chunks stored rather than deflated because the data did not compress.
    var chunksStored: Int { encoder.chunksStored }
    /// Compression threads still running (for tests: 0 after finish() or abandon()).
    var liveCompressionThreads: Int { encoder.liveWorkerCount }

    public init(sink: ByteSink, rootFolder: String, options: ArchiveOptions = ArchiveOptions()) throws {
        if let problem = ArchivePath.folderProblem(rootFolder) { throw ArchiveError.invalidPath(rootFolder, reason: problem) }
        try options.validate()
        self.rootFolder = rootFolder
        self.options = options
        switch options.format {
        case .gzip:
            encoder = ParallelGzipEncoder(sink: sink, level: options.compressionLevel, threads: options.threads,
                                          chunkSize: options.chunkSize)
        case .zstd:
            encoder = try ZstdEncoder(sink: sink, level: options.compressionLevel, threads: options.threads)
        }
        try emitHeader(name: rootFolder + "/", isDirectory: true, mode: 0o755, mtime: Self.now(), size: 0)
    }

    deinit { abandon() }

    /// Starts an entry. `entry.path` is relative to rootFolder. A directory takes no writes and
    /// is complete at once (end() after it is accepted but not required).
    /// size == nil: the data is compressed as it arrives into a temp file in
    /// options.spoolDirectory (unlinked immediately after creation); end() emits the tar header
    /// with the real size, then the compressed data.
    public func begin(_ entry: ArchiveEntry) throws {
        try checkOpen()
        if let open = current {
            throw ArchiveError.invalidState("begin('\(entry.path)') while '\(open.entry.path)' is open; call end() first")
        }
        // The name as readers will see it, inside the backup folder, must fit the same limits.
        if let problem = ArchivePath.problem(entry.path) ?? ArchivePath.problem("\(rootFolder)/\(entry.path)") {
            throw ArchiveError.invalidPath(entry.path, reason: problem)
        }
        if entry.path == BackupMetadata.fileName {
            throw ArchiveError.invalidPath(entry.path, reason: "reserved for the metadata that finish() writes")
        }
        if let size = entry.size, size < 0 {
            throw ArchiveError.invalidState("'\(entry.path)' declares a negative size (\(size))")
        }
        if entry.kind == .directory, let size = entry.size, size != 0 {
            throw ArchiveError.invalidState("directory '\(entry.path)' declares \(size) bytes; directories take no data")
        }
        guard !memberNames.contains(entry.path) else { throw ArchiveError.duplicateMember("\(rootFolder)/\(entry.path)") }
        let ancestors = Self.ancestors(of: entry.path)
        if let file = ancestors.first(where: filePaths.contains) {
            throw ArchiveError.invalidPath(entry.path, reason: "'\(file)' is a file in this archive, so it cannot be a folder")
        }
        if entry.kind == .file && impliedFolders.contains(entry.path) {
            throw ArchiveError.invalidPath(entry.path, reason: "it is already a folder of earlier entries")
        }

        switch (entry.kind, entry.size) {
        case (.directory, _):
            try failing { try emitHeader(name: "\(rootFolder)/\(entry.path)/", isDirectory: true,
                                         mode: entry.mode, mtime: entry.mtime, size: 0) }
        case (.file, let size?):
            try failing { try emitHeader(name: "\(rootFolder)/\(entry.path)", isDirectory: false,
                                         mode: entry.mode, mtime: entry.mtime, size: size) }
            current = OpenFile(entry: entry, declared: size)
        case (.file, nil):
            let spool = try SpoolFile(directory: options.spoolDirectory)
            try failing { try encoder.beginDeferred(spool: spool) }
            current = OpenFile(entry: entry, declared: nil, spool: spool)
        }
        memberNames.insert(entry.path)
        impliedFolders.formUnion(ancestors)
        if entry.kind == .file { filePaths.insert(entry.path) }
    }

    /// Appends data to the current file; throws ArchiveError.sizeMismatch (and writes nothing)
    /// if more than the declared size arrives.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkOpen()
        guard current != nil else {
            throw ArchiveError.invalidState("write() without an open file (begin() a file first; directories take no data)")
        }
        // `current` is accessed in place, never copied: a copy would make the hasher
        // duplicate its state on every write.
        if let declared = current!.declared {
            let total = current!.written + Int64(bytes.count)
            if total > declared {
                throw ArchiveError.sizeMismatch(path: current!.entry.path, declared: declared, actual: total)
            }
        }
        current!.hasher.update(bufferPointer: bytes)
        try failing { try encoder.write(bytes) }
        current!.written += Int64(bytes.count)
    }

    /// Ends the current entry; throws ArchiveError.sizeMismatch if fewer bytes than declared
    /// arrived (the file changed while being read). That error is fatal to the archive.
    public func end() throws {
        try checkOpen()
        guard let file = current else { return }  // nothing open, or a directory: complete already
        current = nil
        try failing {
            if let declared = file.declared {
                if file.written != declared {
                    throw ArchiveError.sizeMismatch(path: file.entry.path, declared: declared, actual: file.written)
                }
            } else if let spool = file.spool {
                defer { spool.close() }
                let header = TarHeaderEncoder.headers(name: "\(rootFolder)/\(file.entry.path)", isDirectory: false,
                                                      mode: file.entry.mode, mtime: file.entry.mtime, size: file.written)
                try header.withUnsafeBytes { try encoder.endDeferred(prefix: $0) }
            }
            try encoder.writeZeros(TarHeaderEncoder.padding(file.written))
        }
        let entry = file.entry
        files.append(FileRecord(path: entry.path, size: file.written, sha256: file.hasher.finalize().hexString,
                                mode: entry.mode & 0o7777, mtime: entry.mtime))
    }

    /// Writes `<rootFolder>/backup_metadata.json` (mode 0644, mtime now) with `metadata` as
    /// content, the end-of-archive blocks, flushes compression and waits for all chunks to
    /// reach the sink.
    public func finish(metadata: Data) throws {
        try checkOpen()
        if let open = current { throw ArchiveError.invalidState("finish() while '\(open.entry.path)' is open; call end() first") }
        try failing {
            try emitHeader(name: "\(rootFolder)/\(BackupMetadata.fileName)", isDirectory: false, mode: 0o644,
                           mtime: Self.now(), size: Int64(metadata.count))
            try metadata.withUnsafeBytes { try encoder.write($0) }
            try encoder.writeZeros(TarHeaderEncoder.padding(Int64(metadata.count)) + 2 * TarHeaderEncoder.blockSize)
            try encoder.finish()
        }
        state = .finished
    }

    /// Stops worker threads and drops everything not yet written; the caller then aborts its
    /// sink. Safe to call at any time, also after an error, and more than once.
    public func abandon() {
        encoder.abandon()
        current?.spool?.close()
        current = nil
        if case .finished = state { return }
        state = .abandoned
    }

    // MARK: - Internals

    private func checkOpen() throws {
        switch state {
        case .open: return
        case .failed(let reason): throw ArchiveError.invalidState("the archive writer failed earlier (\(reason))")
        case .finished: throw ArchiveError.invalidState("the archive is already finished")
        case .abandoned: throw ArchiveError.invalidState("the archive writer was abandoned")
        }
    }

    /// Runs a step that may leave a partial archive behind: on error, the writer is failed.
    private func failing<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            state = .failed(String(describing: error))
            throw error
        }
    }

    private func emitHeader(name: String, isDirectory: Bool, mode: UInt32, mtime: Int64, size: Int64) throws {
        let header = TarHeaderEncoder.headers(name: name, isDirectory: isDirectory, mode: mode, mtime: mtime, size: size)
        try header.withUnsafeBytes { try encoder.write($0) }
    }

    /// "a/b/c" -> ["a", "a/b"].
    private static func ancestors(of path: String) -> [String] {
        var result: [String] = []
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix = prefix.isEmpty ? String(component) : "\(prefix)/\(component)"
            result.append(prefix)
        }
        return result
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
