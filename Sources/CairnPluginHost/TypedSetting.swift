import CairnCore
import CCairnPlugin
import Foundation

/// The typed setting getters of `cairn_host_api` (since 1.1): a setting's value read as the type
/// the plugin asks for, so that a C plugin parses no text or JSON.
enum TypedSetting {
    static func int(_ value: JSONValue) -> Int64? {
        switch value {
        case .number(let n): return n.rounded() == n && abs(n) < 9.2e18 ? Int64(n) : nil
        case .string(let text): return Int64(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    static func bool(_ value: JSONValue) -> Bool? {
        switch value {
        case .bool(let b): return b
        case .number(let n) where n == 0 || n == 1: return n == 1
        case .string(let text): return SettingsResolver.boolWord(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// "250ms", "30s", "1h30m", "2d", or a bare number of seconds; only positive durations.
    static func milliseconds(_ value: JSONValue) -> Int64? {
        let seconds: Double?
        switch value {
        case .number(let n): seconds = n
        case .string(let raw):
            let text = raw.trimmingCharacters(in: .whitespaces)
            if text.hasSuffix("ms"), let ms = Double(text.dropLast(2)) { seconds = ms / 1000 } else { seconds = Double(text) ?? parseDuration(text) }
        default: seconds = nil
        }
        guard let seconds, seconds > 0, seconds < 9.2e15 else { return nil }
        return max(1, Int64((seconds * 1000).rounded()))
    }

    /// Items as text; a text value (an environment variable) is split at commas.
    static func list(_ value: JSONValue) -> [String]? {
        switch value {
        case .array(let items): return items.map(PluginSettings.text)
        case .string(let text):
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        default: return nil
        }
    }

    /// One getter call (`service`, the getter's name in cairn_host_api): CAIRN_NOT_FOUND without a
    /// value (nothing reported), CAIRN_INVALID with a message when the value does not convert, else
    /// `store` the result (with the context and key, for a result the context must keep) and CAIRN_OK.
    static func get<T>(_ ctx: UnsafeMutableRawPointer?, _ key: UnsafePointer<CChar>?, _ err: UnsafePointer<cairn_error>?,
                       service: StaticString, expected: String, _ convert: (JSONValue) -> T?,
                       store: (T, PluginContext, String) -> Void) -> cairn_status {
        guard let context = PluginContext.from(ctx), let key else { return CAIRN_INVALID }
        context.noteService(service)
        let name = String(cString: key)
        guard let value = context.values[name], value != .null else { return CAIRN_NOT_FOUND }
        guard let converted = convert(value) else {
            let message = "setting '\(name)' must be \(expected), got \(value.jsonText)"
            if let err, let set = err.pointee.set { message.withCString { set(err.pointee.ctx, CAIRN_INVALID, $0) } }
            return CAIRN_INVALID
        }
        store(converted, context, name)
        return CAIRN_OK
    }
}
