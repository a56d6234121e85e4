import CairnCore
import CairnArchive
import CairnInterfaces
import Foundation

/// A declared action of a loaded plugin, checked and ready to call through libffi.
///
/// Arguments are JSON values because pipelines and the command line produce them; a JSON number
/// is a double, so integers beyond ±2^53 cannot all be represented (see `parse(commandLine:)`).
public struct NativeAction: Sendable {
    public let plugin: LoadedPlugin
    public let name: String
    public let spec: PluginManifest.Action
    let parameterTypes: [NativeType]
    /// nil for void.
    let returnType: NativeType?

    /// Looks the action up; unknown action names list the plugin's actions (usage error).
    public init(plugin: LoadedPlugin, name: String) throws {
        let actions = plugin.manifest.actions ?? [:]
        guard let spec = actions[name] else {
            let known = actions.keys.sorted()
            let hint = closest(to: name, in: known).map { " Did you mean '\($0)'?" } ?? ""
            throw CairnError.usage("plugin \(plugin.name) has no action '\(name)' (actions: \(known.isEmpty ? "none" : known.joined(separator: ", "))).\(hint)")
        }
        // PluginManifest.load already refused unknown types; this only guards hand-built manifests.
        parameterTypes = try spec.parameters.map { parameter in
            guard let type = NativeType(rawValue: parameter.type) else {
                throw CairnError.usage("action \(plugin.name).\(name): parameter '\(parameter.name)' has unknown type '\(parameter.type)'")
            }
            return type
        }
        if spec.returns == "void" {
            returnType = nil
        } else if let type = NativeType(rawValue: spec.returns) {
            returnType = type
        } else {
            throw CairnError.usage("action \(plugin.name).\(name): unknown return type '\(spec.returns)'")
        }
        self.plugin = plugin
        self.name = name
        self.spec = spec
    }

    /// "directory.count_files": how messages name the action.
    public var qualifiedName: String { "\(plugin.name).\(name)" }

    /// "count_files(path: string) -> int64"
    public var signature: String {
        "\(name)(\(spec.parameters.map { "\($0.name): \($0.type)" }.joined(separator: ", "))) -> \(spec.returns)"
    }

    // MARK: Checking

    /// Checks arguments against the declared signature without calling anything, so pipelines can
    /// be validated when they are loaded. Returns the arguments in declaration order.
    public func check(positional arguments: [JSONValue]) throws -> [JSONValue] {
        let parameters = spec.parameters
        if arguments.count > parameters.count {
            let extra = arguments[parameters.count...].map(\.jsonText).joined(separator: ", ")
            throw failure("too many arguments: it takes \(parameters.count) (\(signature)), got \(arguments.count); extra: \(extra)")
        }
        if arguments.count < parameters.count {
            throw missing(Array(parameters[arguments.count...]))
        }
        return try zip(arguments, parameters.indices).map { try convert($0, parameter: $1) }
    }

    /// Like `check(positional:)` with arguments given by parameter name.
    public func check(named arguments: [String: JSONValue]) throws -> [JSONValue] {
        let names = spec.parameters.map(\.name)
        if let unknown = arguments.keys.sorted().first(where: { !names.contains($0) }) {
            let hint = closest(to: unknown, in: names).map { " Did you mean '\($0)'?" } ?? ""
            throw failure("unknown parameter '\(unknown)' (\(signature)).\(hint)")
        }
        let absent = spec.parameters.filter { arguments[$0.name] == nil }
        if !absent.isEmpty { throw missing(absent) }
        return try spec.parameters.indices.map { try convert(arguments[spec.parameters[$0].name]!, parameter: $0) }
    }

    /// Parses command-line words, then checks them. Each word is read as its parameter's type
    /// ("42", "true", "2.5"; text stays text, so a folder named 42 still reaches a string
    /// parameter). A word `name=value` whose name is a parameter gives that one by name; positional
    /// words come first and fill the parameters in order.
    public func parse(commandLine words: [String]) throws -> [JSONValue] {
        var positional: [String] = []
        var named: [String: JSONValue] = [:]
        for word in words {
            if let equals = word.firstIndex(of: "="),
               let index = spec.parameters.firstIndex(where: { $0.name == word[..<equals] }) {
                let parameter = spec.parameters[index].name
                guard named[parameter] == nil else { throw failure("argument '\(parameter)' is given twice") }
                named[parameter] = try value(of: String(word[word.index(after: equals)...]), parameter: index)
            } else {
                guard named.isEmpty else {
                    throw failure("positional argument '\(word)' follows a named one: give positional arguments first (\(signature))")
                }
                positional.append(word)
            }
        }
        let values = try positional.indices.map { index in
            index < spec.parameters.count ? try value(of: positional[index], parameter: index) : .string(positional[index])
        }
        // With too many words this throws and names the extra ones.
        if named.isEmpty || values.count > spec.parameters.count { return try check(positional: values) }
        for (index, value) in values.enumerated() {
            let parameter = spec.parameters[index].name
            guard named[parameter] == nil else {
                throw failure("argument '\(parameter)' is given twice (by position and by name)")
            }
            named[parameter] = value
        }
        return try check(named: named)
    }

    // MARK: Helpers

    func failure(_ message: String) -> CairnError { .usage("action \(qualifiedName): \(message)") }

    private func missing(_ parameters: [PluginManifest.Action.Parameter]) -> CairnError {
        let list = parameters.map { "'\($0.name)' (\($0.type))" }.joined(separator: ", ")
        return failure("missing argument\(parameters.count == 1 ? "" : "s") \(list); it takes \(signature)")
    }

    /// Checks one value against its parameter's type.
    private func convert(_ value: JSONValue, parameter index: Int) throws -> JSONValue {
        let type = parameterTypes[index]
        func mismatch(_ why: String = "") -> CairnError {
            failure("parameter '\(spec.parameters[index].name)' expects \(type.rawValue), got \(value.jsonText)\(why)")
        }
        switch (type, value) {
        case (.string, .string(let text)):
            // A C string ends at the first NUL; the plugin would silently see less.
            if text.utf8.contains(0) { throw mismatch(" (contains a NUL character)") }
            return value
        case (.bool, .bool):
            return value
        case (.double, .number(let number)):
            if !number.isFinite { throw mismatch(" (not a finite number)") }
            return value
        case (.int32, .number(let n)), (.int64, .number(let n)), (.uint32, .number(let n)), (.uint64, .number(let n)):
            guard n.isFinite, n.rounded() == n else { throw mismatch(" (not a whole number)") }
            guard let range = type.rangeViolation(n) else { return value }
            throw mismatch(" (out of range \(range))")
        default:
            throw mismatch()
        }
    }

    /// A command-line word as a value of the parameter's type, or as text when it is not one, so
    /// that `check` names the parameter and the expected type.
    private func value(of word: String, parameter index: Int) throws -> JSONValue {
        switch parameterTypes[index] {
        case .string:
            return .string(word)
        case .bool:
            return word == "true" ? .bool(true) : word == "false" ? .bool(false) : .string(word)
        case .double:
            if let number = Double(word), number.isFinite { return .number(number) }
            return .string(word)
        case .int32, .int64, .uint32, .uint64:
            // Read whole numbers exactly first: a double cannot hold every 64-bit integer, and a
            // silently rounded argument is worse than a refusal.
            if let exact = Int64(word) {
                guard Int64(exactly: Double(exact)) == exact else { throw imprecise(word, parameter: index) }
                return .number(Double(exact))
            }
            if let exact = UInt64(word) {
                guard UInt64(exactly: Double(exact)) == exact else { throw imprecise(word, parameter: index) }
                return .number(Double(exact))
            }
            if let number = Double(word), number.isFinite { return .number(number) }
            return .string(word)
        }
    }

    private func imprecise(_ word: String, parameter index: Int) -> CairnError {
        failure("parameter '\(spec.parameters[index].name)': \(word) cannot be passed exactly (arguments are JSON numbers, exact up to ±2^53)")
    }
}

extension NativeType {
    /// For integer types: nil when the whole number `value` fits, else the range it must be in.
    func rangeViolation(_ value: Double) -> String? {
        switch self {
        case .int32: return Int32(exactly: value) == nil ? "\(Int32.min)...\(Int32.max)" : nil
        case .uint32: return UInt32(exactly: value) == nil ? "0...\(UInt32.max)" : nil
        case .int64: return Int64(exactly: value) == nil ? "\(Int64.min)...\(Int64.max)" : nil
        case .uint64: return UInt64(exactly: value) == nil ? "0...\(UInt64.max)" : nil
        case .bool, .double, .string: return nil
        }
    }
}
