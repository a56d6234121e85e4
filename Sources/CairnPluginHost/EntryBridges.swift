import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation

/// `cairn_entry_sink`: the component's entries go straight into the archive writer. A host-side
/// failure is kept in `errors.hostError` (the real cause) and the plugin is told to stop.
final class EntrySinkBox {
    let writer: ArchiveWriter
    let errors: ErrorBox
    var facts: [String: JSONValue] = [:]
    private(set) var entryOpen = false
    private(set) var currentPath = ""
    /// What `buffer` lends (ABI 1.3). In cairn it saves nothing: `write` copies it into the
    /// archive like any other; a plugin still uses one code path in cairn and in a worker.
    private var lent: UnsafeMutableRawBufferPointer?

    init(writer: ArchiveWriter, errors: ErrorBox) { self.writer = writer; self.errors = errors }

    deinit { lent?.deallocate() }

    func buffer(_ capacity: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<UInt8>? {
        capacity?.pointee = 0
        guard let capacity, entryOpen, errors.hostError == nil else { return nil }
        let buffer = lent ?? .allocate(byteCount: 512 << 10, alignment: 64)
        lent = buffer
        capacity.pointee = buffer.count
        return buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    }

    private func attempt(_ body: () throws -> Void) -> Int32 {
        if errors.hostError != nil { return Int32(CAIRN_ERROR.rawValue) }
        do { try body(); return 0 } catch {
            errors.hostError = error
            return Int32(CAIRN_ERROR.rawValue)
        }
    }

    func begin(_ entry: cairn_entry) -> Int32 {
        attempt {
            guard let path = entry.path else { throw CairnError.failure("plugin passed an entry without a path") }
            currentPath = String(cString: path)
            if entryOpen { throw CairnError.failure("plugin began entry '\(currentPath)' before ending the previous one") }
            guard entry.size >= 0 || entry.size == CAIRN_SIZE_UNKNOWN else {
                throw CairnError.failure("plugin gave entry '\(currentPath)' a negative size \(entry.size)")
            }
            let kind: ArchiveEntry.Kind = entry.type == CAIRN_ENTRY_DIRECTORY ? .directory : .file
            try writer.begin(ArchiveEntry(path: currentPath, kind: kind, mode: entry.mode & 0o7777, mtime: entry.mtime,
                                          size: kind == .directory ? 0 : (entry.size == CAIRN_SIZE_UNKNOWN ? nil : entry.size)))
            entryOpen = true
        }
    }

    func write(_ data: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
        attempt {
            guard entryOpen else { throw CairnError.failure("plugin wrote data outside an entry") }
            guard let data, count > 0 else { return }
            if let lent, UnsafeRawPointer(data) == UnsafeRawPointer(lent.baseAddress!), count > lent.count {
                throw CairnError.failure("plugin wrote \(count) bytes from a lent buffer of \(lent.count) into '\(currentPath)'")
            }
            try writer.write(UnsafeRawBufferPointer(start: data, count: count))
        }
    }

    func end() -> Int32 {
        attempt {
            guard entryOpen else { throw CairnError.failure("plugin ended an entry it never began") }
            entryOpen = false
            try writer.end()
        }
    }

    func fact(_ key: UnsafePointer<CChar>?, _ json: UnsafePointer<CChar>?) -> Int32 {
        attempt {
            guard let key, let json else { throw CairnError.failure("plugin passed a NULL fact key or value") }
            let name = String(cString: key)
            do { facts[name] = try JSONValue.parse(String(cString: json)) } catch {
                throw CairnError.failure("plugin reported fact '\(name)' with invalid JSON: \(String(cString: json).prefix(200))")
            }
        }
    }

    func withCStruct<R>(_ body: (UnsafePointer<cairn_entry_sink>) throws -> R) rethrows -> R {
        var sink = cairn_entry_sink(
            struct_size: UInt32(MemoryLayout<cairn_entry_sink>.size), abi_major: HostABI.major, abi_minor: HostABI.minor,
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            begin: { ctx, entry in
                guard let ctx, let entry else { return Int32(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySinkBox>.fromOpaque(ctx).takeUnretainedValue().begin(entry.pointee)
            },
            write: { ctx, data, count in
                guard let ctx else { return Int32(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySinkBox>.fromOpaque(ctx).takeUnretainedValue().write(data, count)
            },
            end: { ctx in
                guard let ctx else { return Int32(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySinkBox>.fromOpaque(ctx).takeUnretainedValue().end()
            },
            fact: { ctx, key, json in
                guard let ctx else { return Int32(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySinkBox>.fromOpaque(ctx).takeUnretainedValue().fact(key, json)
            },
            // ---- since 1.3 ----
            buffer: { ctx, capacity in
                guard let ctx else { return nil }
                return Unmanaged<EntrySinkBox>.fromOpaque(ctx).takeUnretainedValue().buffer(capacity)
            })
        return try withUnsafePointer(to: &sink) { try body($0) }
    }
}

/// `cairn_entry_source`: entries of a stored archive, relative to its folder, without the
/// metadata file (which the plugin gets whole through `metadata`).
final class EntrySourceBox {
    let reader: ArchiveReader
    let prefix: String
    let errors: ErrorBox
    let cancellation: Cancellation
    private let metadata: UnsafeMutablePointer<CChar>
    private var currentPath: UnsafeMutablePointer<CChar>?
    /// backup_metadata.json's "source": what the plugin's backup reported through `sink->fact`.
    private let facts: [String: JSONValue]
    private let factLock = NSLock()
    private var factTexts: [String: UnsafeMutablePointer<CChar>] = [:]

    init(reader: ArchiveReader, rootFolder: String, metadata: String, errors: ErrorBox, cancellation: Cancellation) {
        self.reader = reader
        self.prefix = rootFolder + "/"
        self.errors = errors
        self.cancellation = cancellation
        self.metadata = strdup(metadata)
        if case .object(let source)? = (try? JSONValue.parse(metadata))?["source"] { facts = source } else { facts = [:] }
    }

    deinit {
        free(metadata); free(currentPath)
        factTexts.values.forEach { free($0) }
    }

    /// The fact `key`, or the member at a '.'-separated path into an object fact (cairn_plugin.h).
    func fact(_ key: String) -> JSONValue? {
        if let whole = facts[key] { return whole }
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1, var value = facts[parts[0]] else { return nil }
        for part in parts.dropFirst() {
            guard let member = value[part] else { return nil }
            value = member
        }
        return value
    }

    /// The fact as text, kept for the whole operation.
    func factText(_ key: String) -> UnsafePointer<CChar>? {
        guard let value = fact(key), value != .null else { return nil }
        return factLock.withLock {
            if let text = factTexts[key] { return UnsafePointer(text) }
            let text = strdup(PluginSettings.text(value))!
            factTexts[key] = text
            return UnsafePointer(text)
        }
    }

    private func fail(_ error: any Error) -> Int64 {
        errors.hostError = error
        if let archiveError = error as? ArchiveError, archiveError.isCorruption { return -Int64(CAIRN_CORRUPT.rawValue) }
        return -Int64(CAIRN_IO.rawValue)
    }

    func next(_ out: UnsafeMutablePointer<cairn_entry>) -> Int32 {
        do {
            while let entry = try reader.next() {
                guard entry.path.hasPrefix(prefix) else { continue }  // the folder itself
                let relative = String(entry.path.dropFirst(prefix.count))
                if relative == BackupMetadata.fileName || relative.isEmpty { continue }
                free(currentPath)
                currentPath = strdup(relative)
                var filled = cairn_entry(
                    struct_size: out.pointee.struct_size, path: currentPath,
                    type: entry.kind == .directory ? CAIRN_ENTRY_DIRECTORY : CAIRN_ENTRY_FILE,
                    mode: entry.mode, mtime: entry.mtime, size: entry.size ?? 0)
                // The plugin owns *out and says how big it is: an older plugin's struct may be
                // smaller than ours, so only the fields that fit are written (cairn_plugin.h).
                let size = min(Int(out.pointee.struct_size), MemoryLayout<cairn_entry>.size)
                withUnsafeBytes(of: &filled) { UnsafeMutableRawPointer(out).copyMemory(from: $0.baseAddress!, byteCount: size) }
                return 1
            }
            return 0
        } catch {
            return Int32(fail(error))
        }
    }

    func read(_ buffer: UnsafeMutablePointer<UInt8>?, _ capacity: Int) -> Int64 {
        guard let buffer, capacity > 0 else { return 0 }
        do { return Int64(try reader.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: capacity))) } catch {
            return fail(error)
        }
    }

    /// Passes over the entry's data a few MiB at a time, looking at the cancellation in between
    /// as a plugin reading it would.
    func skip() -> Int64 {
        var skipped: Int64 = 0
        do {
            while true {
                if cancellation.isCancelled { return -Int64(CAIRN_CANCELLED.rawValue) }
                let n = try reader.skipData(upTo: 4 << 20)
                if n == 0 { return skipped }
                skipped += n
            }
        } catch {
            return fail(error)
        }
    }

    func withCStruct<R>(_ body: (UnsafePointer<cairn_entry_source>) throws -> R) rethrows -> R {
        var source = cairn_entry_source(
            struct_size: UInt32(MemoryLayout<cairn_entry_source>.size), abi_major: HostABI.major, abi_minor: HostABI.minor,
            ctx: Unmanaged.passUnretained(self).toOpaque(),
            next: { ctx, entry in
                guard let ctx, let entry else { return -Int32(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().next(entry)
            },
            read: { ctx, buffer, capacity in
                guard let ctx else { return -Int64(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().read(buffer, capacity)
            },
            metadata: { ctx in
                guard let ctx else { return nil }
                return UnsafePointer(Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().metadata)
            },
            // ---- since 1.1 ----
            fact: { ctx, key in
                guard let ctx, let key else { return nil }
                return Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().factText(String(cString: key))
            },
            fact_int: { ctx, key, out in
                guard let ctx, let key else { return CAIRN_INVALID }
                guard let value = Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().fact(String(cString: key)),
                      value != .null else { return CAIRN_NOT_FOUND }
                guard case .number = value, let number = TypedSetting.int(value) else { return CAIRN_INVALID }
                out?.pointee = number
                return CAIRN_OK
            },
            // ---- since 1.3 ----
            skip: { ctx in
                guard let ctx else { return -Int64(CAIRN_INVALID.rawValue) }
                return Unmanaged<EntrySourceBox>.fromOpaque(ctx).takeUnretainedValue().skip()
            })
        return try withUnsafePointer(to: &source) { try body($0) }
    }
}
