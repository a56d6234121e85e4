import Foundation

/// Reads backup_metadata.json out of a stored archive without checking file checksums: what
/// `tar -xzO --wildcards '*/backup_metadata.json'` does, with errors that say what is wrong.
enum StoredMetadata {
    enum Failure: Error, CustomStringConvertible {
        /// The archive ends without a metadata member, or the stream is damaged before it.
        case unreadable(String)
        /// The member is there but is not JSON of the expected shape.
        case invalid(String)

        var description: String {
            switch self {
            case .unreadable(let why), .invalid(let why): return why
            }
        }
    }

    static func read(storage: StorageInstance, key: String) throws -> BackupMetadata {
        let reader = try storage.openReader(key: key)
        defer { reader.close() }
        let archive = ArchiveReader(source: reader)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
        defer { buffer.deallocate() }
        do {
            while let entry = try archive.next() {
                let isMetadata = entry.kind == .file && ArchiveStructureCheck.isMetadata(entry.path)
                var content = Data()
                while true {
                    let n = try archive.read(into: buffer)
                    if n == 0 { break }
                    if isMetadata {
                        guard content.count + n <= ArchiveVerifier.maxMetadataSize else {
                            throw Failure.invalid("\(key): \(entry.path) is larger than \(ArchiveVerifier.maxMetadataSize) bytes")
                        }
                        content.append(UnsafeRawBufferPointer(rebasing: buffer.prefix(n)).bindMemory(to: UInt8.self))
                    }
                }
                if isMetadata { return try decode(content, member: entry.path, key: key) }
            }
        } catch let error as ArchiveError {
            throw Failure.unreadable("\(key): the archive cannot be read up to its backup_metadata.json: \(error)")
        }
        throw Failure.unreadable("\(key): the archive has no <backup_id>/backup_metadata.json (an incomplete backup)")
    }

    private static func decode(_ data: Data, member: String, key: String) throws -> BackupMetadata {
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else {
            throw Failure.invalid("\(key): \(member) is not JSON")
        }
        do { return try BackupMetadata.decode(data) } catch {
            throw Failure.invalid("\(key): \(member) is JSON but not Cairn backup metadata: \(describeDecodingError(error))")
        }
    }
}
