import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// A plugin found on disk: its manifest (if readable) and where its library should be.
/// Discovery reads files only; no plugin code runs.
public struct PluginCandidate: Sendable {
    public var manifestURL: URL
    public var manifest: PluginManifest?
    public var libraryURL: URL?
    /// Which search location found it: "bundled", "plugin_dirs", "CAIRN_PLUGIN_PATH".
    public var origin: String
    /// Why it cannot be used, found without loading it; nil when it looks fine.
    public var problem: String?
}

/// Where plugins are searched, in order of precedence (the first plugin of a name wins).
public struct PluginSearchPath: Sendable {
    public var entries: [(directory: URL, origin: String)]

    public init(entries: [(directory: URL, origin: String)]) { self.entries = entries }

    /// CAIRN_PLUGIN_PATH (colon-separated), then `plugin_dirs` from the config, then the plugins
    /// bundled next to the cairn executable: users can override a bundled plugin.
    public static func standard(configDirs: [String], environment: [String: String]) -> PluginSearchPath {
        var entries: [(URL, String)] = []
        for dir in (environment["CAIRN_PLUGIN_PATH"] ?? "").split(separator: ":") where !dir.isEmpty {
            entries.append((URL(fileURLWithPath: String(dir)), "CAIRN_PLUGIN_PATH"))
        }
        for dir in configDirs { entries.append((URL(fileURLWithPath: dir), "plugin_dirs")) }
        if let bundled = bundledDirectory() { entries.append((bundled, bundledOrigin)) }
        return PluginSearchPath(entries: entries)
    }

    /// The origin of plugins shipped with Cairn (beside the executable).
    public static let bundledOrigin = "bundled"

    /// The folder of the running executable. SwiftPM builds the plugin libraries there, with each
    /// manifest in a `<Package>_<Target>.resources` folder beside them; an installed Cairn keeps
    /// `plugins/<name>/` folders next to the binary.
    public static func bundledDirectory() -> URL? {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }
}

public enum PluginDiscovery {
    public static let manifestName = "plugin.json"

    /// Finds `plugin.json` files directly in each search directory and one level below it.
    public static func scan(_ searchPath: PluginSearchPath) -> [PluginCandidate] {
        var found: [PluginCandidate] = []
        var seen = Set<String>()
        for (directory, origin) in searchPath.entries {
            for manifestURL in manifestURLs(in: directory) where seen.insert(manifestURL.standardizedFileURL.path).inserted {
                found.append(candidate(manifestURL: manifestURL, origin: origin))
            }
        }
        return found
    }

    /// A single plugin given by the path of its library or its manifest (`cairn plugins inspect`).
    public static func candidate(forPath path: String) throws -> PluginCandidate {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CairnError.usage("\(path): no such file or directory")
        }
        if isDirectory.boolValue { return candidate(manifestURL: url.appendingPathComponent(manifestName), origin: "command line") }
        if url.lastPathComponent.hasSuffix(".json") { return candidate(manifestURL: url, origin: "command line") }
        // A library: its manifest sits beside it, or in the SwiftPM resource folder beside it.
        let folder = url.deletingLastPathComponent()
        let beside = folder.appendingPathComponent(manifestName)
        if FileManager.default.fileExists(atPath: beside.path) {
            var c = candidate(manifestURL: beside, origin: "command line"); c.libraryURL = url; return recheck(c)
        }
        for manifestURL in manifestURLs(in: folder) {
            if let manifest = try? PluginManifest.load(from: manifestURL), manifest.library == url.lastPathComponent {
                var c = candidate(manifestURL: manifestURL, origin: "command line"); c.libraryURL = url; return recheck(c)
            }
        }
        return PluginCandidate(manifestURL: beside, manifest: nil, libraryURL: url, origin: "command line",
                               problem: "no plugin.json found for \(url.lastPathComponent) (looked in \(folder.path) and its *.resources folders)")
    }

    static func manifestURLs(in directory: URL) -> [URL] {
        let fm = FileManager.default
        var urls: [URL] = []
        let direct = directory.appendingPathComponent(manifestName)
        if fm.fileExists(atPath: direct.path) { urls.append(direct) }
        let children = (try? fm.contentsOfDirectory(atPath: directory.path))?.sorted() ?? []
        for child in children {
            let nested = directory.appendingPathComponent(child).appendingPathComponent(manifestName)
            if fm.fileExists(atPath: nested.path) { urls.append(nested) }
        }
        return urls
    }

    static func candidate(manifestURL: URL, origin: String) -> PluginCandidate {
        var result = PluginCandidate(manifestURL: manifestURL, manifest: nil, libraryURL: nil, origin: origin, problem: nil)
        do {
            let manifest = try PluginManifest.load(from: manifestURL)
            result.manifest = manifest
            let folder = manifestURL.deletingLastPathComponent()
            var library = folder.appendingPathComponent(manifest.library)
            if !FileManager.default.fileExists(atPath: library.path), folder.lastPathComponent.hasSuffix(".resources") {
                library = folder.deletingLastPathComponent().appendingPathComponent(manifest.library)
            }
            result.libraryURL = library
        } catch {
            result.problem = describe(error)
        }
        return recheck(result)
    }

    /// Static checks that need no plugin code: the library exists and is a loadable ELF file.
    static func recheck(_ candidate: PluginCandidate) -> PluginCandidate {
        var result = candidate
        guard result.problem == nil, let manifest = result.manifest, let library = result.libraryURL else { return result }
        if manifest.abi.major != HostABI.major {
            result.problem = "manifest declares ABI major \(manifest.abi.major), host supports \(HostABI.major)"
        } else if let problem = ELFCheck.problem(with: library) {
            result.problem = problem
        }
        return result
    }
}
