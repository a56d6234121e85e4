import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// `plugin.json`: what the host knows about a plugin without running any of its code.
public struct PluginManifest: Decodable, Equatable, Sendable {
    public enum Kind: String, Decodable, Sendable { case component, storage }

    public struct ABI: Decodable, Equatable, Sendable {
        public var major: UInt32
        public var minor: UInt32
    }

    /// A setting the plugin reads with `config_get` / `secret_get`.
    public struct Setting: Decodable, Equatable, Sendable {
        /// `path` is text resolved against the config file's folder (or the working directory).
        public enum ValueType: String, Decodable, Sendable { case string, path, int, bool, list, map }
        public var type: ValueType
        public var required: Bool?
        /// Environment variable that overrides the config file (the runbook's REDIS_URL etc.).
        public var env: String?
        public var `default`: JSONValue?
        /// Passed through `secret_get` only and never logged or shown.
        public var secret: Bool?
        /// Allowed values, for enumerations.
        public var values: [String]?
        public var description: String?
        /// The command-line flag that sets it ("--bucket"); a flag beats the variable and the file.
        public var flag: String?
        /// Storage plugins: giving this setting by its variable or flag selects this store, as
        /// the runbook's S3_BUCKET/--bucket select S3 whatever cairn.yaml says.
        public var selectsStore: Bool?

        enum CodingKeys: String, CodingKey {
            case type, required, env, `default`, secret, values, description, flag
            case selectsStore = "selects_store"
        }
    }

    /// A native action: an exported C function called through libffi (see cairn_plugin.h).
    public struct Action: Decodable, Equatable, Sendable {
        public struct Parameter: Decodable, Equatable, Sendable {
            public var name: String
            public var type: String
        }
        public var symbol: String
        public var parameters: [Parameter]
        public var returns: String
        public var description: String?
        /// Storage plugins: `cairn prune` runs this action for each component's prefix, as
        /// `(prefix: string, older_than_seconds: int64) -> int64` (objects removed; negative: failed).
        public var prune: Bool?
    }

    public var name: String
    public var kind: Kind
    public var version: String
    public var abi: ABI
    /// Shared library file name, relative to the manifest's folder.
    public var library: String
    /// "c", "swift", ...: informational, except that "swift" plugins must carry a toolchain stamp.
    public var language: String?
    public var toolchain: String?
    public var description: String?
    public var capabilities: [String]?
    public var settings: [String: Setting]?
    public var actions: [String: Action]?
    /// Component plugins with a restore drill: what it proves (docs/plugin-authors.md, "Restore drills").
    public var drill: DrillContract?
    /// Storage plugins: the store used when cairn.yaml names none (the embedded defaults).
    public var defaultStore: Bool?
    /// Storage plugins: how people name the store, with {setting} placeholders ("{bucket}").
    public var location: String?
    /// Storage plugins: where an object lives, with {setting} and {key} placeholders
    /// ("s3://{bucket}/{key}"); hooks get it as CAIRN_ARTIFACT_URL.
    public var objectURL: String?
    /// Storage plugins that keep objects in a local folder: the `path` setting naming it. The
    /// host checks its free space and keeps its state database beside the objects.
    public var localRoot: String?

    enum CodingKeys: String, CodingKey {
        case name, kind, version, abi, library, language, toolchain, description, capabilities, settings, actions, drill, location
        case defaultStore = "default_store", objectURL = "object_url", localRoot = "local_root"
    }

    /// The capability of component plugins that restore into their own server when no target is given.
    public static let restoreInPlace = "restore-in-place"

    /// Reads and checks a manifest, naming the file and the field in every error.
    public static func load(from url: URL) throws -> PluginManifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CairnError.usage("cannot read plugin manifest \(url.path): \(error.localizedDescription)")
        }
        let manifest: PluginManifest
        do { manifest = try JSONDecoder().decode(PluginManifest.self, from: data) } catch {
            throw CairnError.usage("plugin manifest \(url.path) is invalid: \(describeDecodingError(error))")
        }
        try manifest.validate(path: url.path)
        return manifest
    }

    private func validate(path: String) throws {
        func fail(_ message: String) -> CairnError { .usage("plugin manifest \(path): \(message)") }
        guard Name.isValid(name) else {
            throw fail("name '\(name)' must be lowercase letters, digits, '-' or '_', starting with a letter")
        }
        guard !library.isEmpty, !library.contains("/") else {
            throw fail("library '\(library)' must be a file name next to the manifest")
        }
        for (key, setting) in settings ?? [:] {
            if let values = setting.values, let value = setting.default?.stringValue, !values.contains(value) {
                throw fail("setting '\(key)': default '\(value)' is not one of \(values)")
            }
        }
        try validateStoreFields(fail)
        for (action, spec) in (actions ?? [:]).sorted(by: { $0.key < $1.key }) {
            if spec.symbol.isEmpty { throw fail("action '\(action)': symbol is empty") }
            if spec.prune == true, spec.parameters.map(\.type) != ["string", "int64"] || spec.returns != "int64" {
                throw fail("action '\(action)' has \"prune\": true, so it must take (prefix: string, older_than_seconds: int64) and return int64")
            }
            var seen: Set<String> = []
            for parameter in spec.parameters {
                // Names are how pipelines and `name=value` command-line words address parameters.
                guard parameter.name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else {
                    throw fail("action '\(action)': parameter name '\(parameter.name)' must be letters, digits or '_', starting with a letter or '_'")
                }
                guard seen.insert(parameter.name).inserted else {
                    throw fail("action '\(action)': parameter '\(parameter.name)' is declared twice")
                }
                if parameter.type == "void" {
                    throw fail("action '\(action)': parameter '\(parameter.name)' cannot be void (void is allowed as a return type only)")
                }
                if NativeType(rawValue: parameter.type) == nil {
                    throw fail("action '\(action)': parameter '\(parameter.name)' has unknown type '\(parameter.type)' (use \(NativeType.allNames))")
                }
            }
            if NativeType(rawValue: spec.returns) == nil, spec.returns != "void" {
                throw fail("action '\(action)': unknown return type '\(spec.returns)' (use void, \(NativeType.allNames))")
            }
        }
    }
}

extension PluginManifest {
    /// The store fields name settings that exist; they mean something for storage plugins only.
    fileprivate func validateStoreFields(_ fail: (String) -> CairnError) throws {
        let storeOnly: [(String, Bool)] = [("default_store", defaultStore != nil), ("location", location != nil),
                                           ("object_url", objectURL != nil), ("local_root", localRoot != nil)]
        if kind != .storage, let field = storeOnly.first(where: { $0.1 }) {
            throw fail("'\(field.0)' is for storage plugins; this is a \(kind.rawValue) plugin")
        }
        if kind != .component, drill != nil { throw fail("'drill' is for component plugins; this is a storage plugin") }
        for (field, template) in [("location", location), ("object_url", objectURL)] {
            guard let template else { continue }
            for name in Self.placeholders(template) where name != "key" && settings?[name] == nil {
                throw fail("\(field) '\(template)' names {\(name)}, which is not one of its settings")
            }
        }
        if let localRoot, settings?[localRoot]?.type != .path {
            throw fail("local_root '\(localRoot)' must name a setting of type path")
        }
    }

    static func placeholders(_ template: String) -> [String] {
        template.split(separator: "{", omittingEmptySubsequences: false).dropFirst().compactMap { part in part.firstIndex(of: "}").map { String(part[..<$0]) } }
    }

    /// `template` with {setting} (and {key}) filled in from resolved settings; nil when a setting it
    /// names has no value.
    public func render(_ template: String, settings: PluginSettings, key: String? = nil) -> String? {
        var text = template
        for name in Self.placeholders(template) {
            let value = name == "key" ? key : settings.values[name].map { PluginSettings.text($0.value) }
            guard let value else { return nil }
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return text
    }
}

/// The C types a native action may take or return (cairn_plugin.h, "Native actions"); a return
/// may also be "void".
public enum NativeType: String, CaseIterable, Sendable {
    case bool, int32, int64, uint32, uint64, double, string
    static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
