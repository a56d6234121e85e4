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
        guard name.range(of: #"^[a-z][a-z0-9_-]{0,62}$"#, options: .regularExpression) != nil else {
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
        for (action, spec) in (actions ?? [:]).sorted(by: { $0.key < $1.key }) {
            if spec.symbol.isEmpty { throw fail("action '\(action)': symbol is empty") }
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

/// The C types a native action may take or return (cairn_plugin.h, "Native actions"); a return
/// may also be "void".
public enum NativeType: String, CaseIterable, Sendable {
    case bool, int32, int64, uint32, uint64, double, string
    static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Turns a DecodingError into "field 'abi.major': expected a number" rather than Swift's dump.
func describeDecodingError(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return error.localizedDescription }
    func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        let parent = path(context.codingPath)
        return "missing field '\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)'"
    case .typeMismatch(let type, let context):
        return "field '\(path(context.codingPath))' should be \(type)"
    case .valueNotFound(let type, let context):
        return "field '\(path(context.codingPath))' should be \(type), found null"
    case .dataCorrupted(let context):
        let field = path(context.codingPath)
        let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
        return (field.isEmpty ? "" : "field '\(field)': ") + (underlying ?? context.debugDescription)
    @unknown default:
        return error.localizedDescription
    }
}
