import CCairnPlugin
import CairnPluginSupport

/// A Redis Cluster as its nodes describe it: shards (a master, its replicas, its slot ranges),
/// every node's flags and config epoch, and the cluster's current epoch. Read from CLUSTER SHARDS
/// (Redis 7.0+), falling back to CLUSTER NODES; epochs come from CLUSTER NODES when allowed.
struct ClusterTopology {
    struct Node {
        var id: String
        var host: String
        var port: UInt16
        var role: Prefer
        /// Not failing as the cluster sees it; a replica's own link is checked before it is used.
        var healthy: Bool
        var flags = ""
        var configEpoch: Int64?
        var offset: Int64 = 0
        var address: String { Settings.address(host, port) }
    }

    struct Shard {
        var id: String
        var slots: [ClosedRange<Int>]
        var nodes: [Node]
        var master: Node? { nodes.first { $0.role == .master } }
        /// The entry folder: `<id>_<first>-<last>[_<first>-<last>...]`.
        var name: String { ([id] + slots.map { "\($0.lowerBound)-\($0.upperBound)" }).joined(separator: "_") }
    }

    var shards: [Shard] = []
    var currentEpoch: Int64?
    var source = "CLUSTER SHARDS"

    static let slotCount = 16384

    static func discover(_ client: RespClient) throws(RedisError) -> ClusterTopology {
        var topology = ClusterTopology()
        let nodesReply = try client.command(["CLUSTER", "NODES"])
        let described = nodesReply.text.map(parseNodes) ?? []
        let shardsReply = try client.command(["CLUSTER", "SHARDS"])
        if let error = shardsReply.errorText {
            guard !described.isEmpty else {
                if let nodesError = nodesReply.errorText { throw client.serverError("CLUSTER SHARDS and CLUSTER NODES (\(error))", nodesError) }
                throw client.serverError("CLUSTER SHARDS", error)
            }
            topology.source = "CLUSTER NODES"
            topology.shards = shardsFromNodes(described)
        } else {
            topology.shards = try parseShards(shardsReply, address: client.address)
            // CLUSTER SHARDS has no epochs: take them (and flags) from CLUSTER NODES. Redis 7.0's
            // CLUSTER SHARDS can also leave out the replicas of the answering node's own shard.
            for s in topology.shards.indices {
                let known = Set(topology.shards[s].nodes.map(\.id))
                topology.shards[s].nodes += described.filter { $0.master == topology.shards[s].id && !known.contains($0.node.id) }.map(\.node)
            }
            let byID = Dictionary(described.map { ($0.node.id, $0.node) }, uniquingKeysWith: { a, _ in a })
            for s in topology.shards.indices {
                for n in topology.shards[s].nodes.indices {
                    if let known = byID[topology.shards[s].nodes[n].id] {
                        topology.shards[s].nodes[n].configEpoch = known.configEpoch
                        topology.shards[s].nodes[n].flags = known.flags
                    }
                }
            }
        }
        if let info = try? client.info("cluster"), info["cluster_enabled"] == "0" {
            throw RedisError(CAIRN_INVALID, "Redis at \(client.address) is not a cluster node (cluster_enabled:0): drop 'cluster: true'")
        }
        if case .bulk(let bytes?) = try client.command(["CLUSTER", "INFO"]) {
            topology.currentEpoch = RespClient.parseInfo(String(decoding: bytes, as: UTF8.self))["cluster_current_epoch"].flatMap { Int64($0) }
        }
        topology.shards.removeAll { $0.slots.isEmpty }  // masters without slots hold no data
        topology.shards.sort { ($0.slots.first?.lowerBound ?? 0) < ($1.slots.first?.lowerBound ?? 0) }
        guard !topology.shards.isEmpty else {
            throw RedisError(CAIRN_IO, "Redis at \(client.address) reports a cluster without shards serving slots")
        }
        return topology
    }

    // MARK: CLUSTER SHARDS

    private static func map(_ reply: Reply) -> [String: Reply] {
        guard case .array(let items?) = reply else { return [:] }
        var result: [String: Reply] = [:]
        var index = 0
        while index + 1 < items.count {
            if let key = items[index].text { result[key] = items[index + 1] }
            index += 2
        }
        return result
    }

    private static func parseShards(_ reply: Reply, address: String) throws(RedisError) -> [Shard] {
        guard case .array(let list?) = reply else {
            throw RedisError(CAIRN_IO, "Redis at \(address) answered CLUSTER SHARDS with something that is not a list")
        }
        var shards: [Shard] = []
        for item in list {
            let fields = map(item)
            var bounds: [Int] = []
            if case .array(let slots?) = fields["slots"] { bounds = slots.compactMap { $0.text.flatMap { Int($0) } } }
            var ranges: [ClosedRange<Int>] = []
            var index = 0
            while index + 1 < bounds.count {
                if bounds[index] <= bounds[index + 1] { ranges.append(bounds[index] ... bounds[index + 1]) }
                index += 2
            }
            var nodes: [Node] = []
            if case .array(let list?) = fields["nodes"] {
                for entry in list {
                    let n = map(entry)
                    guard let id = n["id"]?.text, let host = n["ip"]?.text ?? n["endpoint"]?.text,
                          let port = (n["port"]?.text ?? n["tls-port"]?.text).flatMap({ UInt16($0) }) else { continue }
                    nodes.append(Node(id: id, host: host, port: port, role: n["role"]?.text == "master" ? .master : .replica,
                                      healthy: n["health"]?.text != "fail", offset: Int64(n["replication-offset"]?.text ?? "") ?? 0))
                }
            }
            guard let master = nodes.first(where: { $0.role == .master }) else { continue }
            shards.append(Shard(id: master.id, slots: ranges, nodes: nodes))
        }
        return shards
    }

    // MARK: CLUSTER NODES

    /// `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`
    private static func parseNodes(_ text: String) -> [(node: Node, master: String, slots: [ClosedRange<Int>])] {
        var result: [(node: Node, master: String, slots: [ClosedRange<Int>])] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let f = line.split(separator: " ").map(String.init)
            guard f.count >= 8 else { continue }
            let endpoint = f[1].split(separator: "@").first.map(String.init) ?? f[1]
            guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...]) else { continue }
            let flags = f[2].split(separator: ",")
            guard !flags.contains("noaddr"), !flags.contains("handshake") else { continue }
            var slots: [ClosedRange<Int>] = []
            for slot in f.dropFirst(8) where !slot.hasPrefix("[") {  // [slot->-id] marks a migration
                let bounds = slot.split(separator: "-").compactMap { Int($0) }
                if bounds.count == 2, bounds[0] <= bounds[1] { slots.append(bounds[0] ... bounds[1]) }
                else if bounds.count == 1 { slots.append(bounds[0] ... bounds[0]) }
            }
            let node = Node(id: f[0], host: String(endpoint[..<colon]), port: port,
                            role: flags.contains("master") ? .master : .replica,
                            healthy: !flags.contains("fail") && !flags.contains("fail?") && f[7] == "connected",
                            flags: f[2], configEpoch: Int64(f[6]))
            result.append((node, f[3], slots))
        }
        return result
    }

    private static func shardsFromNodes(_ described: [(node: Node, master: String, slots: [ClosedRange<Int>])]) -> [Shard] {
        described.filter { $0.node.role == .master }.map { master in
            Shard(id: master.node.id, slots: master.slots.sorted { $0.lowerBound < $1.lowerBound },
                  nodes: [master.node] + described.filter { $0.master == master.node.id }.map(\.node))
        }
    }

    // MARK: Coverage

    /// nil when the ranges cover 0...16383 exactly once; otherwise what is missing or doubled.
    static func coverageProblem(_ ranges: [ClosedRange<Int>]) -> String? {
        var count = [UInt8](repeating: 0, count: slotCount)
        for range in ranges {
            guard range.lowerBound >= 0, range.upperBound < slotCount else { return "slot range \(range.lowerBound)-\(range.upperBound) is outside 0-16383" }
            for slot in range where count[slot] < 2 { count[slot] += 1 }
        }
        func spans(_ value: UInt8) -> [String] {
            var out: [String] = []
            var slot = 0
            while slot < slotCount {
                guard (value == 0 ? count[slot] == 0 : count[slot] > 1) else { slot += 1; continue }
                let start = slot
                while slot < slotCount, value == 0 ? count[slot] == 0 : count[slot] > 1 { slot += 1 }
                out.append(start == slot - 1 ? "\(start)" : "\(start)-\(slot - 1)")
            }
            return out
        }
        let missing = spans(0), doubled = spans(2)
        var problems: [String] = []
        if !missing.isEmpty { problems.append("slots \(BackupContents.sample(missing)) belong to no shard") }
        if !doubled.isEmpty { problems.append("slots \(BackupContents.sample(doubled)) belong to more than one shard") }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    /// The slot ranges in a shard folder's name (`<id>_0-5460_...`), or nil when it is not one.
    static func ranges(inName name: String) -> [ClosedRange<Int>]? {
        let parts = name.split(separator: "_")
        guard parts.count >= 2, parts[0].allSatisfy({ $0.isHexDigit }) else { return nil }
        var ranges: [ClosedRange<Int>] = []
        for part in parts.dropFirst() {
            let bounds = part.split(separator: "-")
            guard bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a <= b else { return nil }
            ranges.append(a ... b)
        }
        return ranges
    }
}
