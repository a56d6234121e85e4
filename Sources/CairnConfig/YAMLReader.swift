import CairnCore
import CairnHooks
import CairnOperations
import Foundation
import Yams

/// Typed access to YAML nodes with errors that carry file:line:column.
struct YAMLReader {
    let path: String
    /// Cairn's own YAML (the built-in pipelines): its positions are no place an operator can open,
    /// so what it defines comes from `.builtIn` and errors name the user's file alone.
    var builtIn = false

    func origin(_ node: Node) -> ValueOrigin {
        builtIn ? .builtIn : .file(path: path, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
    }

    func error(_ node: Node, _ message: String) -> CairnError {
        .usage("\(origin(node)): \(message)")
    }

    func mapping(_ node: Node, context: String) throws -> [(key: Node, value: Node)] {
        guard let mapping = node.mapping else { throw error(node, "\(context) must be a mapping of keys to values") }
        return Array(mapping)
    }

    func list(_ node: Node, key: String) throws -> [Node] {
        guard let sequence = node.sequence else { throw error(node, "'\(key)' must be a list") }
        return Array(sequence)
    }

    func string(_ node: Node, key: String) throws -> String {
        guard let scalar = node.scalar, !scalar.string.isEmpty else { throw error(node, "'\(key)' must be a non-empty text value") }
        return scalar.string
    }

    func integer(_ node: Node, key: String) throws -> Int {
        guard let value = node.int else { throw error(node, "'\(key)' must be a whole number") }
        return value
    }

    func rejectUnknownKeys(_ mapping: [(key: Node, value: Node)], known: [String], context: String) throws {
        var seen = Set<String>()
        for (keyNode, _) in mapping {
            let key = keyNode.string ?? ""
            if !seen.insert(key).inserted { throw error(keyNode, "key '\(key)' appears twice in \(context)") }
            guard known.contains(key) else {
                let hint = closest(to: key, in: known).map { "; did you mean '\($0)'?" } ?? ""
                throw error(keyNode, "unknown key '\(key)' in \(context) (known keys: \(known.joined(separator: ", ")))\(hint)")
            }
        }
    }

    /// Plugin settings keep their YAML type: scalars resolve as YAML 1.1 core types do.
    func json(_ node: Node) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain || scalar.style == .any {
                if node.null != nil { return .null }
                if let value = node.bool { return .bool(value) }
                if let value = node.int { return .number(Double(value)) }
                if let value = node.float { return .number(value) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            return .array(try sequence.map { try json($0) })
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping { object[key.string ?? ""] = try json(value) }
            return .object(object)
        case .alias:
            throw error(node, "YAML aliases are not supported in cairn.yaml")
        }
    }
}
