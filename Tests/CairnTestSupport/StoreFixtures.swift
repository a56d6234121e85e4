import Foundation

/// Builds stored backups the way another machine, an old release or damage would leave them,
/// with GNU tar and jq, starting from a real archive Cairn wrote.
public enum StoreFixtures {
    /// Re-archives the backup in `archive` as `newID`, with started_at/finished_at set to `date`
    /// (and `jqFilter` applied to the metadata), metadata last, into `folder/<newID>.tar.gz`.
    @discardableResult
    public static func rearchive(_ archive: URL, as newID: String, date: Date, into folder: URL, jqFilter: String = ".",
                          scratch: URL) throws -> URL {
        let work = scratch.appendingPathComponent("rearchive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try runTool(["tar", "-xzf", archive.path, "-C", work.path])
        let oldID = try unwrap(try FileManager.default.contentsOfDirectory(atPath: work.path).first, "extracted backup folder")
        if oldID != newID { try FileManager.default.moveItem(at: work.appendingPathComponent(oldID), to: work.appendingPathComponent(newID)) }
        let time = ISO8601DateFormatter().string(from: date)
        let metadata = work.appendingPathComponent("\(newID)/backup_metadata.json")
        let updated = try runShell("jq '.backup_id = \"\(newID)\" | .started_at = \"\(time)\" | .finished_at = \"\(time)\" | \(jqFilter)' '\(metadata.path)'")
        try updated.stdout.write(to: metadata)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let out = folder.appendingPathComponent("\(newID).tar.gz")
        try runShell("cd '\(work.path)' && tar --format=pax -czf '\(out.path)' $(find \(newID) -type f ! -name backup_metadata.json | sort) \(newID)/backup_metadata.json")
        return out
    }

    /// Flips one byte in the middle of a file.
    public static func flipByte(in file: URL) throws {
        var data = try Data(contentsOf: file)
        let index = data.count / 2
        data[index] ^= 0x5A
        try data.write(to: file)
    }

    /// "configs_20240320_100000" for a fixed UTC time.
    public static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
}

/// `#require` outside a test body: throws instead of recording.
public func unwrap<T>(_ value: T?, _ what: String = "value") throws -> T {
    guard let value else { throw ToolFailure(command: what, result: ToolResult(status: 1, stdout: Data(), stderr: "missing \(what)")) }
    return value
}
