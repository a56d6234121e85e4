import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// The plugins found on the search path, loaded on first use and kept for the process.
public final class PluginRegistry: @unchecked Sendable {
    // @unchecked: `loaded` is guarded by `lock`; everything else is immutable.
    public let searchPath: PluginSearchPath
    public let candidates: [PluginCandidate]
    private var loaded: [String: LoadedPlugin] = [:]
    private let lock = NSLock()

    public init(searchPath: PluginSearchPath) {
        self.searchPath = searchPath
        candidates = PluginDiscovery.scan(searchPath)
    }

    /// The candidate that wins for `name`: the first on the search path.
    public func candidate(named name: String) -> PluginCandidate? {
        candidates.first { $0.manifest?.name == name }
    }

    /// Candidates hidden by an earlier plugin of the same name, with the one that hides them.
    public func shadowed() -> [(hidden: PluginCandidate, by: PluginCandidate)] {
        var winners: [String: PluginCandidate] = [:]
        var result: [(PluginCandidate, PluginCandidate)] = []
        for candidate in candidates {
            guard let name = candidate.manifest?.name else { continue }
            if let winner = winners[name] { result.append((candidate, winner)) } else { winners[name] = candidate }
        }
        return result
    }

    public func names(of kind: PluginManifest.Kind) -> [String] {
        Array(Set(candidates.compactMap { $0.manifest?.kind == kind ? $0.manifest?.name : nil })).sorted()
    }

    /// Loads the plugin `name` as whatever kind its manifest declares (for commands that take
    /// any plugin), or explains why it cannot.
    public func load(_ name: String) throws -> LoadedPlugin {
        guard let kind = candidate(named: name)?.manifest?.kind else {
            let known = candidates.compactMap { $0.manifest?.name }
            let names = Array(Set(known)).sorted()
            let hint = closest(to: name, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw CairnError.usage("unknown plugin '\(name)'. Known plugins: \(names.isEmpty ? "none" : names.joined(separator: ", ")).\(hint)")
        }
        return try load(name, kind: kind)
    }

    /// Loads and validates the plugin `name` of the given kind, or explains why it cannot.
    public func load(_ name: String, kind: PluginManifest.Kind) throws -> LoadedPlugin {
        lock.lock(); defer { lock.unlock() }
        if let plugin = loaded[name] { return plugin }
        guard let candidate = candidate(named: name) else {
            let known = names(of: kind)
            let hint = closest(to: name, in: known).map { " Did you mean '\($0)'?" } ?? ""
            let searched = searchPath.entries.map { "\($0.directory.path) (\($0.origin))" }.joined(separator: ", ")
            // A plugin whose manifest cannot be read is no plugin at all; say so, it may be the one meant.
            let broken = candidates.filter { $0.manifest == nil }.map { "\($0.manifestURL.path): \($0.problem ?? "unreadable")" }
            let unreadable = broken.isEmpty ? "" : " Manifests that could not be read: \(broken.joined(separator: "; "))"
            throw CairnError.usage("unknown \(kind.rawValue) plugin '\(name)'. Known \(kind.rawValue) plugins: \(known.isEmpty ? "none" : known.joined(separator: ", ")).\(hint) Searched: \(searched).\(unreadable)")
        }
        guard candidate.manifest?.kind == kind else {
            throw CairnError.usage("plugin '\(name)' is a \(candidate.manifest?.kind.rawValue ?? "?") plugin, not a \(kind.rawValue) plugin")
        }
        let plugin = try PluginLoader.load(candidate)
        loaded[name] = plugin
        return plugin
    }
}
