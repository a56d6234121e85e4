import CCairnPlugin
import CairnPluginSupport
import Glibc

/// One configured Weaviate instance: settings, the API client and the host's services.
final class WeaviateComponent {
    let host: PluginHost
    let settings: Settings
    let api: WeaviateAPI

    init(host: PluginHost) throws(WeaviateError) {
        self.host = host
        settings = try Settings(host)
        api = try WeaviateAPI(settings: settings)
    }

    /// "backup-filesystem" or "backup-s3": the key /v1/meta lists when the module is enabled.
    var moduleName: String { "backup-" + settings.backend.rawValue }

    // MARK: What the cluster says

    struct Node { var name: String; var status: String }

    /// What the pre-checks and the backup learn from /v1/meta, /v1/nodes and /v1/schema.
    struct Cluster {
        var version: String
        var module: JSON?
        var nodes: [Node]
        var classes: [String]
        var objectCounts: [String: Int]

        var unhealthy: [Node] { nodes.filter { $0.status != "HEALTHY" } }
        var classesJSON: JSON {
            .array(classes.map { name in
                var entry: [String: JSON] = ["name": .string(name)]
                if let count = objectCounts[name] { entry["objects"] = .number(Double(count)) }
                return .object(entry)
            })
        }
    }

    static func readinessFailure(_ status: Int, _ url: String) -> String {
        "Weaviate at \(url) is not ready: GET /v1/.well-known/ready answered \(status) (it is starting up, in maintenance mode, or its cluster is not healthy); retry once it answers 200"
    }

    func requireReady() throws(WeaviateError) {
        let reply = try api.send("GET", "/.well-known/ready")
        guard reply.status == 200 else { throw WeaviateError(CAIRN_IO, Self.readinessFailure(reply.status, settings.url)) }
    }

    func meta() throws(WeaviateError) -> (version: String, module: JSON?) {
        let meta = try api.call("GET", "/meta") ?? .null
        return (meta["version"]?.string ?? "unknown", meta["modules"]?[moduleName])
    }

    func nodes() throws(WeaviateError) -> (nodes: [Node], counts: [String: Int]) {
        let reply = try api.call("GET", "/nodes?output=verbose") ?? .null
        guard let list = reply["nodes"]?.array else {
            throw WeaviateError(CAIRN_CORRUPT, "Weaviate's answer to GET /v1/nodes has no 'nodes' list")
        }
        var counts: [String: Int] = [:]
        var nodes: [Node] = []
        for node in list {
            nodes.append(Node(name: node["name"]?.string ?? "?", status: node["status"]?.string ?? "unknown"))
            for shard in node["shards"]?.array ?? [] {
                if let name = shard["class"]?.string, let objects = shard["objectCount"]?.number {
                    counts[name, default: 0] += Int(objects)
                }
            }
        }
        return (nodes, counts)
    }

    func schemaClasses() throws(WeaviateError) -> [String] {
        let schema = try api.call("GET", "/schema") ?? .null
        guard let classes = schema["classes"]?.array else {
            throw WeaviateError(CAIRN_CORRUPT, "Weaviate's answer to GET /v1/schema has no 'classes' list")
        }
        return classes.compactMap { $0["class"]?.string }.sorted()
    }

    func cluster() throws(WeaviateError) -> Cluster {
        let (version, module) = try meta()
        let (nodes, counts) = try nodes()
        return Cluster(version: version, module: module, nodes: nodes, classes: try schemaClasses(), objectCounts: counts)
    }

    // MARK: Conditions a backup needs (used by the pre-checks and again by the backup itself)

    func moduleProblem(_ cluster: Cluster) -> String? {
        guard cluster.module == nil else { return nil }
        let setup = settings.backend == .filesystem
            ? "ENABLE_MODULES=backup-filesystem and BACKUP_FILESYSTEM_PATH=<absolute path>"
            : "ENABLE_MODULES=backup-s3 and BACKUP_S3_BUCKET=<bucket>"
        return "Weaviate \(cluster.version) has no \(moduleName) module enabled (/v1/meta lists none): start it with \(setup), or set backend to the module it has"
    }

    func nodeProblem(_ cluster: Cluster) -> String? {
        if cluster.nodes.isEmpty { return "GET /v1/nodes lists no nodes" }
        let bad = cluster.unhealthy
        if !bad.isEmpty {
            return "a backup needs every node HEALTHY, but " + bad.map { "\($0.name) is \($0.status)" }.joined(separator: ", ")
                + " (of \(cluster.nodes.count) nodes); bring \(bad.count == 1 ? "it" : "them") back first"
        }
        if settings.backend == .filesystem && cluster.nodes.count > 1 {
            return "the filesystem backend cannot back up a cluster of \(cluster.nodes.count) nodes (Weaviate refuses it): use backend s3"
        }
        return nil
    }

    func classProblem(_ cluster: Cluster) -> String? {
        guard cluster.classes.isEmpty else { return nil }
        return "Weaviate holds no collections: there is nothing to back up, and Weaviate refuses to back up an empty database (422). Create the collections first, or leave weaviate out of this schedule"
    }

    /// The folder where Cairn sees the filesystem backend's backups.
    func localBackupsPath(_ cluster: Cluster) throws(WeaviateError) -> String {
        if let path = settings.backupsPath { return path }
        if let path = cluster.module?["backupsPath"]?.string, !path.isEmpty { return path }
        throw WeaviateError(CAIRN_INVALID, "Weaviate does not report its backupsPath in /v1/meta: set backups_path to where Cairn sees its BACKUP_FILESYSTEM_PATH")
    }

    func pathProblem(_ path: String, _ cluster: Cluster) -> String? {
        var st = stat()
        let reported = cluster.module?["backupsPath"]?.string
        let hint = "set backups_path (WEAVIATE_BACKUPS_PATH) to where Cairn sees Weaviate's BACKUP_FILESYSTEM_PATH" + (reported.map { " (Weaviate writes to \($0))" } ?? "")
        guard stat(path, &st) == 0 else { return "Weaviate's backup folder \(path) is not visible here (\(PluginError.describe(errno: errno))): \(hint)" }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return "\(path) is not a directory: \(hint)" }
        guard access(path, R_OK | X_OK) == 0 else { return "Weaviate's backup folder \(path) is not readable by Cairn (\(PluginError.describe(errno: errno)))" }
        return nil
    }

    // MARK: Pre-checks (runbook 1.1)

    func check(_ report: CheckReport) throws(WeaviateError) {
        let ready: WeaviateAPI.Reply
        do throws(WeaviateError) { ready = try api.send("GET", "/.well-known/ready") } catch where !error.hostKnows {
            try report.add("ready", CAIRN_CHECK_FAIL, error.message)
            return
        }
        if ready.status == 200 {
            try report.add("ready", CAIRN_CHECK_PASS, "\(settings.url) is ready (GET /v1/.well-known/ready answered 200)")
        } else {
            try report.add("ready", CAIRN_CHECK_FAIL, Self.readinessFailure(ready.status, settings.url))
        }
        let cluster: Cluster
        do throws(WeaviateError) { cluster = try self.cluster() } catch where !error.hostKnows {
            try report.add("api", CAIRN_CHECK_FAIL, error.message)
            return
        }
        let moduleDetail = JSON.object(["version": .string(cluster.version), "module": cluster.module ?? .null]).text
        if let problem = moduleProblem(cluster) {
            try report.add("backup.module", CAIRN_CHECK_FAIL, problem, detail: moduleDetail)
        } else {
            try report.add("backup.module", CAIRN_CHECK_PASS, "Weaviate \(cluster.version) with \(moduleName) \(cluster.module?.text ?? "")", detail: moduleDetail)
        }
        if settings.backend == .filesystem, cluster.module != nil {
            do throws(WeaviateError) {
                let path = try localBackupsPath(cluster)
                if let problem = pathProblem(path, cluster) {
                    try report.add("backup.path", CAIRN_CHECK_FAIL, problem)
                } else {
                    try report.add("backup.path", CAIRN_CHECK_PASS, "Weaviate's backup folder is readable here at \(path)")
                }
            } catch where !error.hostKnows {
                try report.add("backup.path", CAIRN_CHECK_FAIL, error.message)
            }
        }
        let nodeDetail = JSON.array(cluster.nodes.map { .object(["name": .string($0.name), "status": .string($0.status)]) }).text
        if let problem = nodeProblem(cluster) {
            try report.add("nodes", CAIRN_CHECK_FAIL, problem, detail: nodeDetail)
        } else {
            try report.add("nodes", CAIRN_CHECK_PASS, "\(cluster.nodes.count) node\(cluster.nodes.count == 1 ? "" : "s") HEALTHY: \(cluster.nodes.map(\.name).joined(separator: ", "))", detail: nodeDetail)
        }
        if let problem = classProblem(cluster) {
            try report.add("schema", CAIRN_CHECK_FAIL, problem)
        } else {
            let listed = cluster.classes.map { name in cluster.objectCounts[name].map { "\(name) (\($0) objects)" } ?? name }
            try report.add("schema", CAIRN_CHECK_PASS, "\(cluster.classes.count) collection\(cluster.classes.count == 1 ? "" : "s"): \(listed.joined(separator: ", "))",
                           detail: cluster.classesJSON.text)
        }
    }
}
