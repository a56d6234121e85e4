import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// Checks an instance's settings against its plugin's manifest and fills in command-line flags,
/// environment variables and defaults, in that order of precedence over the file. Errors name the
/// file:line, variable or flag the bad value came from.
///
/// A setting the manifest marks `secret` can also come from a file (SecretFile), as Kubernetes
/// mounts Secrets: `<key>_file: <path>` in cairn.yaml, or the variable `<ENV>_FILE`. Precedence:
/// `<ENV>` or `<ENV>_FILE` (never both), then `<key>` or `<key>_file` in cairn.yaml (never both).
public enum SettingsResolver {
    /// `flags`: values of command-line flags by flag ("--bucket"); a setting takes the one its
    /// manifest names. With `requireAll` false, absent required settings are left out instead of
    /// refused: native actions run without `open`, so the settings they do not read need not exist.
    /// `entry`: where the owner is written in cairn.yaml, named when a required setting is absent.
    public static func resolve(manifest: PluginManifest, configured: [String: ConfigValue], flags: [String: ConfigValue] = [:],
                               environment: [String: String], baseDirectory: URL, workingDirectory: URL, owner: String,
                               entry: ValueOrigin? = nil, requireAll: Bool = true) throws -> PluginSettings {
        let specs = manifest.settings ?? [:]
        var result = PluginSettings()
        let declared = Set(specs.values.compactMap(\.flag))
        if let (flag, given) = flags.sorted(by: { $0.key < $1.key }).first(where: { !declared.contains($0.key) }) {
            let known = specs.compactMap { key, spec in spec.flag.map { "\($0) (\(key))" } }.sorted()
            throw CairnError.usage("\(given.origin): \(owner) takes no \(flag) (plugin \(manifest.name) has \(known.isEmpty ? "no such options" : "options " + known.joined(separator: ", ")))")
        }
        for (key, value) in configured.sorted(by: { $0.key < $1.key }) where specs[key] == nil && secretNamed(byFileKey: key, in: specs) == nil {
            let known = specs.keys.sorted()
            let hint = closest(to: key, in: known).map { "; did you mean '\($0)'?" } ?? ""
            throw CairnError.usage("\(value.origin): unknown setting '\(key)' for \(owner) (plugin \(manifest.name) knows: \(known.isEmpty ? "no settings" : known.joined(separator: ", ")))\(hint)")
        }
        for (key, spec) in specs.sorted(by: { $0.key < $1.key }) {
            var chosen = configured[key]
            let isSecret = spec.secret == true
            if isSecret, let file = configured[fileKey(key)], let direct = chosen {
                throw CairnError.usage("\(file.origin): \(owner) has both '\(key)' (\(direct.origin)) and '\(fileKey(key))'; keep one")
            }
            if isSecret, let variable = spec.env, let (text, origin) = try SecretFile.fromEnvironment(variable, in: environment) {
                chosen = ConfigValue(try parseText(text, as: spec.type, what: "\(origin)"), origin)
            } else if isSecret, let file = configured[fileKey(key)] {
                // Read only when no variable wins over it.
                guard case .string(let path) = file.value else {
                    throw CairnError.usage("\(file.origin): setting '\(fileKey(key))' of \(owner) must be the path of a file holding the secret")
                }
                let text = try SecretFile.read(resolvePath(path, against: baseDirectory), source: "\(file.origin) (\(fileKey(key)) of \(owner))")
                chosen = ConfigValue(try parseText(text, as: spec.type, what: "the file of '\(fileKey(key))'"), file.origin)
            } else if !isSecret, let variable = spec.env, let text = environment[variable], !text.isEmpty {
                chosen = ConfigValue(try parseEnvironment(text, as: spec.type, variable: variable), .environment(variable))
            }
            if let flag = spec.flag, let given = flags[flag], case .string(let text) = given.value {
                chosen = ConfigValue(try parseText(text, as: spec.type, what: "option \(flag)"), given.origin)
            }
            if chosen == nil, let fallback = spec.default { chosen = ConfigValue(fallback, .builtIn) }
            guard var setting = chosen, setting.value != .null else {
                if spec.required == true, requireAll {
                    let via = spec.env.map { " or set \($0)" } ?? ""
                    let place = entry.flatMap { $0.isFile ? "\($0): " : nil } ?? ""
                    throw CairnError.usage("\(place)\(owner) needs setting '\(key)'\(spec.description.map { " (\($0))" } ?? ""): add it to cairn.yaml\(via)")
                }
                continue
            }
            setting.value = try check(setting, spec: spec, key: key, owner: owner,
                                      relativeTo: setting.origin.isFile ? baseDirectory : workingDirectory)
            result.values[key] = PluginSettings.Value(value: setting.value, origin: setting.origin, secret: spec.secret == true)
        }
        return result
    }

    /// `password_file` for the secret setting `password`.
    static func fileKey(_ key: String) -> String { key + "_file" }

    /// The secret setting whose file `key` names (`password` for `password_file`), or nil.
    static func secretNamed(byFileKey key: String, in specs: [String: PluginManifest.Setting]) -> String? {
        guard key.hasSuffix("_file") else { return nil }
        let base = String(key.dropLast("_file".count))
        return specs[base]?.secret == true ? base : nil
    }

    private static func check(_ setting: ConfigValue, spec: PluginManifest.Setting, key: String, owner: String,
                              relativeTo base: URL) throws -> JSONValue {
        func fail(_ expected: String) -> CairnError {
            // A secret's value is never shown, not even when it is wrong.
            .usage("\(setting.origin): setting '\(key)' of \(owner) must be \(expected), got "
                   + (spec.secret == true ? "a value of another kind (not shown: secret)" : setting.value.jsonText))
        }
        switch (spec.type, setting.value) {
        case (.string, .string(let text)):
            if let values = spec.values, !values.contains(text) { throw fail("one of \(values.joined(separator: ", "))") }
            return setting.value
        case (.path, .string(let text)):
            return .string(resolvePath(text, against: base))
        case (.int, .number(let n)) where n.rounded() == n: return setting.value
        case (.bool, .bool): return setting.value
        case (.list, .array): return setting.value
        case (.map, .object): return setting.value
        case (.string, _), (.path, _): throw fail("text")
        case (.int, _): throw fail("a whole number")
        case (.bool, _): throw fail("true or false")
        case (.list, _): throw fail("a list")
        case (.map, _): throw fail("a mapping")
        }
    }

    private static func parseEnvironment(_ text: String, as type: PluginManifest.Setting.ValueType, variable: String) throws -> JSONValue {
        try parseText(text, as: type, what: "environment variable \(variable)")
    }

    /// "true", "yes", "on" or "1", and their opposites, in any case; nil for anything else.
    static func boolWord(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: return nil
        }
    }

    /// Variables and flags are text; read them as the setting's type.
    public static func parseText(_ text: String, as type: PluginManifest.Setting.ValueType, what: String) throws -> JSONValue {
        switch type {
        case .string, .path: return .string(text)
        case .int:
            guard let n = Int64(text) else { throw CairnError.usage("\(what) must be a whole number, got '\(text)'") }
            return .number(Double(n))
        case .bool:
            guard let value = boolWord(text) else { throw CairnError.usage("\(what) must be true or false, got '\(text)'") }
            return .bool(value)
        case .list:
            if text.hasPrefix("["), let value = try? JSONValue.parse(text) { return value }
            return .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        case .map:
            guard let value = try? JSONValue.parse(text), case .object = value else {
                throw CairnError.usage("\(what) must be a JSON object")
            }
            return value
        }
    }
}

extension ValueOrigin {
    var isFile: Bool { if case .file = self { return true } else { return false } }
}
