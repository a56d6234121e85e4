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

/// Stores the backup extracted in `folder` (named after its id) as it now is, files added or
/// removed, under redis/test/ in the store: backup_metadata.json is rewritten to list every file
/// with its size and SHA-256, and GNU tar archives the folders and files, so only the Redis
/// plugin's own rules can object. Returns the id.
public func storeRedisFolder(_ folder: URL, store: URL) throws -> String {
    let id = folder.lastPathComponent
    let archive = store.appendingPathComponent("redis/test/\(id).tar.gz")
    let script = """
        import hashlib, json, os, subprocess, sys
        folder, archive = sys.argv[1:3]
        meta_path = os.path.join(folder, "backup_metadata.json")
        meta = json.load(open(meta_path))
        files, members = [], []
        for top, dirs, names in os.walk(folder):
            dirs.sort()
            rel_dir = os.path.relpath(top, folder)
            if rel_dir != ".":
                members.append(rel_dir)
            for name in sorted(names):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel == "backup_metadata.json":
                    continue
                data = open(os.path.join(folder, rel), "rb").read()
                files.append({"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                              "mode": 0o600, "mtime": 1700000000})
                members.append(rel)
        meta["files"] = files
        meta["total_bytes"] = sum(f["size"] for f in files)
        json.dump(meta, open(meta_path, "w"), indent=2)
        listing = archive + ".members"
        with open(listing, "w") as out:
            for member in [""] + members + ["backup_metadata.json"]:
                out.write(os.path.join(os.path.basename(folder), member).rstrip("/") + "\\n")
        subprocess.run(["tar", "--format=pax", "--no-recursion", "-czf", archive, "-C", os.path.dirname(folder), "-T", listing], check=True)
        os.remove(listing)
        """
    try runTool(["python3", "-c", script, folder.path, archive.path])
    return id
}
