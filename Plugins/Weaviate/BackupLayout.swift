/// What Weaviate's backup modules write for one backup id (the same keys on disk and in a bucket):
///
///     <id>/backup_config.json          the coordinator's descriptor: status, nodes, classes
///     <id>/<node>/backup.json          one per node: its classes, shards and chunk numbers
///     <id>/<node>/<Class>/chunk-<n>    the data, tar streams
///
/// The checks here decide whether such a set of files is a complete, successful backup. They run
/// on the folder before archiving it, on the objects in a bucket (s3 mode) and on a stored archive.
struct BackupLayout {
    static let configFile = "backup_config.json"
    static let nodeFile = "backup.json"

    var config: JSON?
    /// Node name to its parsed backup.json.
    var nodeDescriptors: [String: JSON] = [:]
    /// Every file path relative to the backup's folder.
    var files: Set<String> = []

    /// The node names in backup_config.json.
    var nodes: [String] { (config?["nodes"]?.object?.keys).map { $0.sorted() } ?? [] }

    /// Every collection in backup_config.json, over all nodes.
    var classes: [String] {
        Set(config?["nodes"]?.object?.values.flatMap { $0["classes"]?.strings ?? [] } ?? []).sorted()
    }

    /// The chunk files each node's backup.json names: <node>/<Class>/chunk-<n>.
    func chunkFiles(of node: String) -> [String] {
        var out: [String] = []
        for item in nodeDescriptors[node]?["classes"]?.array ?? [] {
            guard let name = item["name"]?.string else { continue }
            for key in (item["chunks"]?.object?.keys).map(Array.init) ?? [] {
                out.append("\(node)/\(name)/chunk-\(key)")
            }
        }
        return out.sorted()
    }

    /// Everything that makes this not a complete, successful backup `id`; empty when it is.
    func problems(id: String) -> [String] {
        guard let config else { return ["\(Self.configFile) is missing"] }
        var problems: [String] = []
        if let found = config["id"]?.string, found != id {
            problems.append("\(Self.configFile) describes backup '\(found)', not '\(id)'")
        }
        let status = config["status"]?.string ?? "missing"
        if status != "SUCCESS" {
            let error = config["error"]?.string ?? ""
            problems.append("\(Self.configFile) has status \(status), not SUCCESS" + (error.isEmpty ? "" : " (error: \(error))"))
        }
        let nodeEntries = config["nodes"]?.object ?? [:]
        if nodeEntries.isEmpty { problems.append("\(Self.configFile) lists no nodes") }
        for node in nodeEntries.keys.sorted() {
            let entry = nodeEntries[node]!
            let nodeStatus = entry["status"]?.string ?? "missing"
            if nodeStatus != "SUCCESS" {
                let error = entry["error"]?.string ?? ""
                problems.append("node \(node) has status \(nodeStatus)" + (error.isEmpty ? "" : " (error: \(error))"))
            }
            guard let descriptor = nodeDescriptors[node] else {
                problems.append("\(node)/\(Self.nodeFile) is missing")
                continue
            }
            let listed = Set(entry["classes"]?.strings ?? [])
            let held = Set(descriptor["classes"]?.array?.compactMap { $0["name"]?.string } ?? [])
            if listed != held {
                problems.append("\(node)/\(Self.nodeFile) holds collections [\(held.sorted().joined(separator: ", "))] but \(Self.configFile) lists [\(listed.sorted().joined(separator: ", "))] for that node")
            }
            let missing = chunkFiles(of: node).filter { !files.contains($0) }
            if !missing.isEmpty {
                problems.append("\(missing.count) chunk file\(missing.count == 1 ? " is" : "s are") missing: \(missing.prefix(5).joined(separator: ", "))\(missing.count > 5 ? ", …" : "")")
            }
        }
        return problems
    }

    /// Whether `path` (relative to the backup's folder) is a descriptor Cairn parses.
    static func isDescriptor(_ path: String) -> Bool {
        if path == configFile { return true }
        let parts = path.split(separator: "/")
        return parts.count == 2 && parts[1] == nodeFile
    }

    /// Records one descriptor's bytes; false when they are not JSON.
    mutating func add(descriptor path: String, _ bytes: [UInt8]) -> Bool {
        guard let json = JSON.parse(bytes) else { return false }
        if path == Self.configFile { config = json } else { nodeDescriptors[String(path.split(separator: "/")[0])] = json }
        return true
    }
}
