import CairnArchive
import CairnCore
import Foundation

/// Deterministic bytes: random (incompressible) or text-like (compressible).
public enum TestData {
    public static func random(_ count: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E3779B97F4A7C15 | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes[i] = UInt8(truncatingIfNeeded: state >> 24)
        }
        return Data(bytes)
    }

    /// Gaussian float32 values (Box-Muller), as in an embedding dump: gzip shrinks them by ~7 %
    /// (the sign and exponent bytes are predictable, the mantissas noise).
    public static func float32(_ count: Int, seed: UInt64) -> Data {
        var state = seed &* 0x9E3779B97F4A7C15 | 1
        func uniform() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        var values = [Float](repeating: 0, count: count / 4)
        for i in values.indices {
            values[i] = Float((-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform()))
        }
        return values.withUnsafeBytes { Data($0) }
    }

    public static func text(_ count: Int, seed: Int) -> Data {
        var data = Data()
        data.reserveCapacity(count + 100)
        var line = seed
        while data.count < count {
            data.append(contentsOf: Array("key:\(line % 977) value=\(line * 31 % 10007) the quick brown fox\n".utf8))
            line += 1
        }
        return data.prefix(count)
    }
}

/// One member of a test archive.
public struct TestFile {
    public var path: String
    public var data: Data
    public var mode: UInt32 = 0o644
    public var mtime: Int64 = 1_700_000_000
    /// Write with size nil (spooled) instead of declaring it.
    public var unknownSize = false

    public init(path: String, data: Data, mode: UInt32 = 0o644, mtime: Int64 = 1_700_000_000, unknownSize: Bool = false) {
        self.path = path; self.data = data; self.mode = mode; self.mtime = mtime; self.unknownSize = unknownSize
    }
}

public func testMetadata(id: String, files: [FileRecord]) -> BackupMetadata {
    BackupMetadata(backupID: id, component: "test", plugin: "test", pluginVersion: "1.0", environment: "test",
                   startedAt: Date(timeIntervalSince1970: 1_700_000_000),
                   finishedAt: Date(timeIntervalSince1970: 1_700_000_100),
                   toolVersion: "0.0.0", source: ["kind": .string("test")], files: files)
}

/// Writes an archive with `directories` first and then `files`, in pieces of `piece` bytes.
public func writeArchive(id: String, directories: [String] = [], files: [TestFile], sink: ByteSink,
                  options: ArchiveOptions = ArchiveOptions(), piece: Int = 100_000) throws -> (files: [FileRecord], metadata: BackupMetadata) {
    let writer = try ArchiveWriter(sink: sink, rootFolder: id, options: options)
    for directory in directories {
        try writer.begin(ArchiveEntry(path: directory, kind: .directory, mode: 0o750, mtime: 1_600_000_000, size: nil))
        try writer.end()
    }
    for file in files {
        try writer.begin(ArchiveEntry(path: file.path, kind: .file, mode: file.mode, mtime: file.mtime,
                                      size: file.unknownSize ? nil : Int64(file.data.count)))
        var offset = 0
        while offset < file.data.count {
            let n = min(piece, file.data.count - offset)
            try file.data[(file.data.startIndex + offset)..<(file.data.startIndex + offset + n)].withUnsafeBytes { try writer.write($0) }
            offset += n
        }
        try writer.end()
    }
    let metadata = testMetadata(id: id, files: writer.files)
    try writer.finish(metadata: metadata.encoded())
    return (writer.files, metadata)
}

/// Reads every entry with its data.
public func readAllEntries(_ source: ByteSource, expectedFiles: [String: FileRecord]? = nil) throws -> [(entry: ArchiveEntry, data: Data)] {
    let reader = ArchiveReader(source: source, expectedFiles: expectedFiles)
    var result: [(entry: ArchiveEntry, data: Data)] = []
    var buffer = [UInt8](repeating: 0, count: 50_000)
    while let entry = try reader.next() {
        var data = Data()
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        result.append((entry, data))
    }
    return result
}

/// Builds a .tar.gz with Python's tarfile (an independent writer), from a JSON description:
/// [{"name":..., "type": "file"|"dir"|"symlink"|"pax", "data": base64, "link": target, "pax": JSON object}].
/// "pax" on a member adds records to its extended header; a member of type "pax" is a bare pax
/// extended header ('x') holding "pax" (so the next member has two). `globalHeaders` go into a
/// pax global header ('g') in front of every member.
/// `tarTrailer` is appended to the tar stream before compression; `gzipTrailer` after it.
public func pythonTarGz(_ members: [[String: String]], to url: URL, globalHeaders: [String: String] = [:],
                        tarTrailer: Data = Data(), gzipTrailer: Data = Data()) throws {
    let spec = try JSONSerialization.data(withJSONObject: [
        "members": members, "tarTrailer": tarTrailer.base64EncodedString(), "gzipTrailer": gzipTrailer.base64EncodedString(),
        "global": globalHeaders,
    ])
    let specURL = url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".json")
    try spec.write(to: specURL)
    defer { try? FileManager.default.removeItem(at: specURL) }
    let script = """
    import base64, gzip, io, json, sys, tarfile
    spec = json.load(open(sys.argv[1]))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, pax_headers=spec["global"]) as tar:
        for m in spec["members"]:
            info = tarfile.TarInfo(m["name"])
            info.mtime = 1700000000
            info.pax_headers = json.loads(m.get("pax", "{}"))
            data = base64.b64decode(m.get("data", ""))
            if m["type"] == "pax":
                records = b"".join(tarfile.TarInfo._create_pax_generic_header({k: v}, tarfile.XHDTYPE, "utf-8")[512:].rstrip(b"\\0")
                                   for k, v in info.pax_headers.items())
                info.pax_headers = {}; info.type = tarfile.XHDTYPE; info.size = len(records)
                tar.addfile(info, io.BytesIO(records))
            elif m["type"] == "dir":
                info.type = tarfile.DIRTYPE; info.mode = 0o755; info.size = len(data)
                tar.addfile(info, io.BytesIO(data) if data else None)
            elif m["type"] == "symlink":
                info.type = tarfile.SYMTYPE; info.linkname = m["link"]; tar.addfile(info)
            else:
                info.size = len(data); info.mode = 0o644; tar.addfile(info, io.BytesIO(data))
    body = raw.getvalue() + base64.b64decode(spec["tarTrailer"])
    with open(sys.argv[2], "wb") as out:
        out.write(gzip.compress(body) + base64.b64decode(spec["gzipTrailer"]))
    """
    try runTool(["python3", "-c", script, specURL.path, url.path])
}

public func fileMember(_ name: String, _ data: Data) -> [String: String] {
    ["name": name, "type": "file", "data": data.base64EncodedString()]
}

public func dirMember(_ name: String) -> [String: String] { ["name": name, "type": "dir"] }

/// Catches the ArchiveError a closure throws.
public func archiveError(_ body: () throws -> Void) -> ArchiveError? {
    do { try body(); return nil } catch let error as ArchiveError { return error } catch { return nil }
}
