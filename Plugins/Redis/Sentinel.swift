import CCairnPlugin
import CairnPluginSupport
import Glibc

/// Which node of a replicated set to read: the master, or a healthy replica so the snapshot's
/// fork (and its copy-on-write memory) happens off the master.
enum Prefer: String {
    case master, replica
}

/// `sentinel: { addresses: [...], master: NAME }`: where the Sentinels are.
struct SentinelSettings {
    var addresses: [(host: String, port: UInt16)] = []
    var master = ""

    static func parse(_ json: String) throws(RedisError) -> SentinelSettings {
        var result = SentinelSettings()
        for (key, value) in try FlatJSON.object(json, what: "setting 'sentinel'") {
            switch key {
            case "master": result.master = value
            case "addresses":
                for item in FlatJSON.items(value) {
                    guard let colon = item.lastIndex(of: ":") else {
                        throw RedisError(CAIRN_INVALID, "setting 'sentinel.addresses': '\(item)' must be host:port (a Sentinel's port, usually 26379)")
                    }
                    var host = String(item[..<colon])
                    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                    result.addresses.append((host, try Settings.port(String(item[item.index(after: colon)...]), "the port of '\(item)' in setting 'sentinel.addresses'")))
                }
            default:
                throw RedisError(CAIRN_INVALID, "setting 'sentinel' has no key '\(key)' (it knows addresses, master)")
            }
        }
        guard !result.addresses.isEmpty, !result.master.isEmpty else {
            throw RedisError(CAIRN_INVALID, "setting 'sentinel' needs addresses (a list of host:port) and master (the name the Sentinels monitor)")
        }
        return result
    }
}

/// Asks the Sentinels, in the order given, for the current master (and with `prefer: replica`
/// a healthy replica), then checks the node's own role: during a failover a Sentinel may still
/// name the old master, which then reports itself a replica; we ask again for a while.
struct SentinelResolver {
    let settings: Settings
    let sentinel: SentinelSettings
    let host: PluginHost

    struct Node { var host: String; var port: UInt16; var role: Prefer }

    /// The node to back up, connected and authenticated.
    func connect() throws(RedisError) -> (RespClient, Node) {
        var lastProblem = ""
        for attempt in 0 ..< 10 {
            if attempt > 0 {
                try host.checkCancelled()
                sleep(1)
            }
            let node = try resolve()
            let client = try RespClient.connect(settings, host: node.host, port: node.port)
            let role = (try client.info("replication"))["role"] ?? "unknown"
            if node.role == .master ? role == "master" : role == "slave" {
                if attempt > 0 { host.log(CAIRN_LOG_WARNING, "failover of '\(sentinel.master)': after \(attempt) s of asking, the Sentinels name \(Settings.address(node.host, node.port)) (\(role))") }
                return (client, node)
            }
            lastProblem = "the Sentinels name \(Settings.address(node.host, node.port)) as \(node.role == .master ? "master" : "a replica") of '\(sentinel.master)' but it reports role \(role)"
            host.log(CAIRN_LOG_WARNING, "\(lastProblem): a failover is under way, asking again")
        }
        throw RedisError(CAIRN_IO, "\(lastProblem) after 10 s of asking: a failover of '\(sentinel.master)' did not settle; retry once it has")
    }

    /// The current master (or chosen replica) as the first Sentinel that answers names it.
    func resolve() throws(RedisError) -> Node {
        var problems: [String] = []
        for address in sentinel.addresses {
            let where_ = Settings.address(address.host, address.port)
            do throws(RedisError) {
                let client = try RespClient.connect(settings, host: address.host, port: address.port, sentinel: true)
                let reply = try client.command(["SENTINEL", "get-master-addr-by-name", sentinel.master])
                if let error = reply.errorText { throw client.serverError("SENTINEL get-master-addr-by-name", error) }
                guard case .array(let parts?) = reply, parts.count == 2, let ip = parts[0].text, let portText = parts[1].text,
                      let port = UInt16(portText) else {
                    throw RedisError(CAIRN_INVALID, "Sentinel \(where_) does not monitor a master named '\(sentinel.master)' (check sentinel.master)")
                }
                let master = Node(host: ip, port: port, role: .master)
                guard settings.prefer == .replica else { return master }
                if let replica = try healthyReplica(client) { return replica }
                host.log(CAIRN_LOG_WARNING, "Sentinel \(where_) knows no healthy replica of '\(sentinel.master)' (link up, not down or disconnected): backing up the master \(Settings.address(ip, port)) instead")
                return master
            } catch where error.status == CAIRN_INVALID {
                throw error
            } catch {
                problems.append("\(where_): \(error.message)")
            }
        }
        throw RedisError(CAIRN_IO, "no Sentinel answered for '\(sentinel.master)': \(problems.joined(separator: "; "))")
    }

    /// The replica with the link up, no down or disconnected flag, and the highest offset.
    private func healthyReplica(_ client: RespClient) throws(RedisError) -> Node? {
        let reply = try client.command(["SENTINEL", "replicas", sentinel.master])
        if let error = reply.errorText { throw client.serverError("SENTINEL replicas", error) }
        guard case .array(let list?) = reply else { return nil }
        var best: (node: Node, offset: Int64)?
        for entry in list {
            guard case .array(let pairs?) = entry else { continue }
            var fields: [String: String] = [:]
            var index = 0
            while index + 1 < pairs.count {
                if let key = pairs[index].text, let value = pairs[index + 1].text { fields[key] = value }
                index += 2
            }
            let flags = (fields["flags"] ?? "").split(separator: ",")
            guard !flags.contains("s_down"), !flags.contains("o_down"), !flags.contains("disconnected"),
                  fields["master-link-status"] == "ok", let ip = fields["ip"],
                  let port = fields["port"].flatMap({ UInt16($0) }) else { continue }
            let offset = Int64(fields["slave-repl-offset"] ?? "") ?? 0
            if best == nil || offset > best!.offset { best = (Node(host: ip, port: port, role: .replica), offset) }
        }
        return best?.node
    }
}
