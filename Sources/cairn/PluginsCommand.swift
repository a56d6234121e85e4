import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List, inspect and call component and storage plugins.",
        subcommands: [List.self, Inspect.self, Call.self, Test.self, New.self])

    struct PluginRow: Codable {
        var name: String
        var kind: String
        var version: String
        var abi: String
        var path: String
        var origin: String
        var status: String
    }

    /// One row per plugin found. `load` validates each library as `inspect` does (its descriptor
    /// against its manifest and this host), and the ABI shown is then the library's own; without
    /// it, only manifests and ELF headers are read and the ABI is what the manifest claims.
    static func rows(_ registry: PluginRegistry, load: Bool) -> [PluginRow] {
        let shadowed = Dictionary(registry.shadowed().map { ($0.hidden.manifestURL, $0.by) }, uniquingKeysWith: { a, _ in a })
        return registry.candidates.map { candidate -> PluginRow in
            let manifest = candidate.manifest
            var status = candidate.problem.map { "broken: \($0)" } ?? "ok"
            var abi = manifest.map { "\($0.abi.major).\($0.abi.minor)" } ?? "?"
            if let winner = shadowed[candidate.manifestURL] {
                status = "shadowed by \(winner.libraryURL?.path ?? winner.manifestURL.path)"
            } else if load, candidate.problem == nil {
                do { abi = "\(HostABI.major).\(try PluginLoader.load(candidate).abiMinor)" } catch { status = "broken: \(describe(error))" }
            }
            return PluginRow(name: manifest?.name ?? "?", kind: manifest?.kind.rawValue ?? "?", version: manifest?.version ?? "?",
                             abi: abi,
                             path: candidate.libraryURL?.path ?? candidate.manifestURL.path, origin: candidate.origin, status: status)
        }
    }

    /// A plugin named on the command line: anything with a slash or an existing file is a path;
    /// else a name, looked up where Cairn finds plugins.
    static func candidate(_ path: String, in workspace: Workspace) throws -> PluginCandidate {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
        // A bare word that names a folder without a plugin.json is a plugin name, not that folder.
        let pluginFolder = isFolder.boolValue && FileManager.default.fileExists(atPath: path + "/" + PluginDiscovery.manifestName)
        if path.contains("/") || (exists && (!isFolder.boolValue || pluginFolder)) {
            return try PluginDiscovery.candidate(forPath: path)
        }
        if let named = workspace.registry.candidate(named: path) { return named }
        let names = workspace.registry.candidates.compactMap { $0.manifest?.name }
        throw CairnError.usage("no plugin named '\(path)' (found: \(names.joined(separator: ", "))); give a name from cairn plugins list or the path of a plugin")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the plugins Cairn finds (CAIRN_PLUGIN_PATH, plugin_dirs, then the bundled ones), each validated.",
            discussion: """
            Loads each library and validates it as 'cairn plugins inspect' does: its descriptor against \
            its plugin.json (name, kind, version, ABI) and this host. STATUS says what is wrong with a \
            broken one; ABI is what the library says. --manifests-only reads manifests and ELF headers \
            without running any plugin code.
            """)

        @Flag(help: "Read manifests and ELF headers only: do not load the libraries (ABI then comes from the manifest).")
        var manifestsOnly = false

        @Flag(help: "Accepted for older scripts: loading and validating is the default now.")
        var check = false

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let registry = workspace.registry
            let rows = PluginsCommand.rows(registry, load: !manifestsOnly)
            if globals.json { return try Output.json(rows) }
            if rows.isEmpty {
                Output.line("no plugins found; searched: " + registry.searchPath.entries.map { $0.directory.path }.joined(separator: ", "))
                return
            }
            Output.table(["NAME", "KIND", "VERSION", "ABI", "STATUS", "PATH"], rows.map { [$0.name, $0.kind, $0.version, $0.abi, $0.status, $0.path] })
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate one plugin library and its plugin.json against this host, and describe it.",
            discussion: """
            PLUGIN is a plugin's name (as cairn plugins list shows it), its .so, its plugin.json or its \
            folder. Exits 2 and says what is wrong when the plugin cannot be used (docs/exit-codes.md).
            """)

        @Argument(help: "A plugin name, or the path of a plugin's .so, plugin.json or folder.")
        var path: String

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let candidate = try PluginsCommand.candidate(path, in: workspace)
            let plugin: LoadedPlugin
            do { plugin = try PluginLoader.load(candidate) } catch {
                if globals.json { try Output.json(["path": path, "status": "broken", "problem": describe(error)]) } else {
                    Output.line("INVALID \(path)")
                    Output.line("  \(describe(error))")
                }
                throw ExitRequest(code: .usage)  // an unusable plugin is the operator's to fix, like bad config
            }
            let manifest = plugin.manifest
            if globals.json { return try Output.json(InspectReport(plugin)) }
            Output.line("OK \(manifest.name) \(manifest.version) (\(manifest.kind.rawValue) plugin, ABI \(HostABI.major).\(plugin.abiMinor), \(manifest.language ?? "?"))")
            Output.line("  library:  \(plugin.libraryURL.path)")
            Output.line("  manifest: \(candidate.manifestURL.path)")
            if let description = manifest.description { Output.line("  \(description)") }
            if let capabilities = manifest.capabilities { Output.line("  capabilities: \(capabilities.joined(separator: ", "))") }
            // The descriptor's bits; this host records CAIRN_CAP_THREAD_SAFE and calls one instance at a time anyway.
            if plugin.declaresThreadSafe {
                Output.line("  descriptor: thread-safe (recorded; this host calls each instance from one thread at a time)")
            }
            for (key, setting) in (manifest.settings ?? [:]).sorted(by: { $0.key < $1.key }) {
                let flags = [setting.required == true ? "required" : nil, setting.env.map { "env \($0)" }, setting.secret == true ? "secret, or from the file \(key)_file\(setting.env.map { " / \($0)_FILE" } ?? "") names" : nil,
                             setting.default.map { "default \($0.jsonText)" }].compactMap { $0 }
                Output.line("  setting \(key) (\(setting.type.rawValue)\(flags.isEmpty ? "" : ", " + flags.joined(separator: ", "))): \(setting.description ?? "")")
            }
            for (name, action) in (manifest.actions ?? [:]).sorted(by: { $0.key < $1.key }) {
                let parameters = action.parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", ")
                Output.line("  action \(name)(\(parameters)) -> \(action.returns)  [\(action.symbol)]")
            }
        }
    }

    struct Call: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Call a plugin's native action and print its result.",
            discussion: """
            Arguments are read as the action's declared parameter types, in order, or as name=value \
            (cairn plugins inspect lists each action's parameters). The action sees the plugin's \
            settings from cairn.yaml and the environment where they are set; it runs without opening \
            the plugin, so required settings may be missing.

            The result is printed as returned. An action reports failure only through its value: \
            count_files printing -1 means the call ran and the action returned -1 (it logs the \
            reason). Exits 2 for an unknown plugin or action, or arguments that do not fit the \
            declaration.

            Examples:
              cairn plugins call directory count_files /etc
              cairn plugins call directory describe path=/etc --json
            """)

        @Argument(help: "Plugin name (see cairn plugins list).")
        var plugin: String

        @Argument(help: "Action name (see cairn plugins inspect).")
        var action: String

        // allUnrecognized: a word such as -1 is an argument, not an unknown option.
        @Argument(parsing: .allUnrecognized, help: "The action's arguments: values in declaration order, or name=value.")
        var arguments: [String] = []

        @Option(help: "Use the settings of this configured component instance.")
        var instance: String?

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let loaded = try workspace.registry.load(plugin)
            let native = try NativeAction(plugin: loaded, name: action)
            // allUnrecognized keeps the `--` terminator; it only marks where option parsing ends.
            var words = arguments
            if let terminator = words.firstIndex(of: "--") { words.remove(at: terminator) }
            let values = try native.parse(commandLine: words)
            let settings = try workspace.actionSettings(for: loaded, instance: instance)
            let result = try native.call(arguments: values, settings: settings, logger: workspace.scope.logger,
                                         cancellation: workspace.scope.cancellation,
                                         temporaryDirectory: try workspace.temporaryDirectory().path,
                                         isolation: try workspace.isolation(of: loaded, instance: instance.flatMap { workspace.config.component(named: $0)?.isolation }))
            if globals.json { return try Output.json(CallReport(plugin: plugin, action: action, result: result)) }
            if native.spec.returns != "void" { Output.line(Self.plain(result, returns: native.spec.returns)) }
        }

        /// Integers print whole, whatever their size; text prints as it is.
        static func plain(_ value: JSONValue, returns: String) -> String {
            switch value {
            case .string(let text): return text
            case .number(let number) where returns != "double":
                if let integer = Int64(exactly: number) { return String(integer) }
                if let integer = UInt64(exactly: number) { return String(integer) }
                return String(number)
            case .number(let number): return String(number)
            default: return value.jsonText
            }
        }
    }

    struct CallReport: Encodable {
        var plugin, action: String
        var result: JSONValue
    }

    struct InspectReport: Encodable {
        var name, kind, version, abi, library, status: String
        var capabilities: [String]
        /// CAIRN_CAP_THREAD_SAFE: recorded, not acted on (cairn_plugin.h).
        var threadSafe: Bool
        enum CodingKeys: String, CodingKey { case name, kind, version, abi, library, status, capabilities, threadSafe = "thread_safe" }
        init(_ plugin: LoadedPlugin) {
            name = plugin.name; kind = plugin.manifest.kind.rawValue; version = plugin.version
            abi = "\(HostABI.major).\(plugin.abiMinor)"; library = plugin.libraryURL.path; status = "ok"
            capabilities = plugin.manifest.capabilities ?? []
            threadSafe = plugin.declaresThreadSafe
        }
    }
}
