import CairnCore
import CairnArchive
import CairnInterfaces
/// The settings of one plugin instance after config file, environment and defaults were merged.
public struct PluginSettings: Sendable {
    public struct Value: Sendable {
        public var value: JSONValue
        public var origin: ValueOrigin
        public var secret: Bool
    }

    public var values: [String: Value]

    public init(values: [String: Value] = [:]) { self.values = values }

    /// The text a plugin sees through config_get: strings as they are, other values as JSON.
    public static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        if case .bool(let b) = value { return b ? "true" : "false" }
        return value.jsonText
    }
}
