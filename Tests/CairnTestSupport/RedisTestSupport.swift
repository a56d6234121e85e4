import Foundation

/// Stores `rdb` as the dump.rdb of the backup extracted in `folder` (named after its id), in the
/// store's layout under redis/test/, re-archived with GNU tar and with a matching SHA-256 and size
/// in backup_metadata.json, so only the Redis plugin's own validation can object. Returns the id.
public func storeRedisBackup(_ rdb: Data, folder: URL, store: URL) throws -> String {
    let file = folder.appendingPathComponent("dump.rdb")
    try rdb.write(to: file)
    let sha = try runTool(["sha256sum", file.path]).text.split(separator: " ").first.map(String.init) ?? ""
    let metadataURL = folder.appendingPathComponent("backup_metadata.json")
    let updated = try runShell("jq '(.files[] | select(.path == \"dump.rdb\")) |= (.sha256 = \"\(sha)\" | if has(\"size\") then .size = \(rdb.count) else . end)' '\(metadataURL.path)'")
    try updated.stdout.write(to: metadataURL)
    let id = folder.lastPathComponent
    let archive = store.appendingPathComponent("redis/test/\(id).tar.gz")
    try runShell("cd '\(folder.deletingLastPathComponent().path)' && tar --format=pax -czf '\(archive.path)' '\(id)/dump.rdb' '\(id)/backup_metadata.json'")
    return id
}
