import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation
/// The settings of one plugin instance after config file, environment and defaults were merged.
public struct PluginSettings: Sendable {
    public struct Value: Sendable {
        public var value: JSONValue
        public var origin: ValueOrigin
        public var secret: Bool
    }

    public var values: [String: Value]

    public init(values: [String: Value] = [:]) { self.values = values }

    /// Where the setting a plugin's message names ("setting 'url' (REDIS_URL) is not usable")
    /// came from: the file line, variable or flag the operator fixes.
    public func origin(ofSettingNamedIn message: String) -> ValueOrigin? {
        guard let start = message.range(of: "setting '") else { return nil }
        let rest = message[start.upperBound...]
        guard let end = rest.firstIndex(of: "'") else { return nil }
        return values[String(rest[..<end])]?.origin
    }

    /// The text a plugin sees through config_get: strings as they are, other values as JSON.
    public static func text(_ value: JSONValue) -> String {
        if case .string(let s) = value { return s }
        if case .bool(let b) = value { return b ? "true" : "false" }
        return value.jsonText
    }
}
