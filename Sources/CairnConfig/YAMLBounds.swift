import CairnCore
import Yams

/// Bounds on a composed document, checked before anything walks it. Yams resolves an alias to a
/// shared copy of its anchor's node, so nine nested aliases of nine ("billion laughs") compose
/// in microseconds and then expand to 10^9 values for whoever reads them. Every parser after
/// this one walks the expanded tree, so it is counted here, with a budget, once.
struct YAMLBounds {
    /// Far beyond any real cairn.yaml (a few hundred values), far below what hurts.
    static let maxNodes = 100_000
    static let maxDepth = 64

    let reader: YAMLReader
    private var nodes = 0
    /// The furthest position in the file seen outside an alias: a node that starts before it
    /// was reached through an alias (a copy of an anchor defined earlier).
    private var frontier = (line: 0, column: 0)

    init(reader: YAMLReader) { self.reader = reader }

    static func check(_ root: Node, reader: YAMLReader) throws {
        var bounds = YAMLBounds(reader: reader)
        try bounds.visit(root, depth: 1, written: root, copied: false)
    }

    /// `written`: the innermost node around this one that is in the file where it is, not a copy
    /// an alias made; errors point there, since a copy's own position is its anchor's.
    /// `copied`: this node is (inside) such a copy.
    private mutating func visit(_ node: Node, depth: Int, written: Node, copied: Bool) throws {
        var written = written
        var copied = copied
        if !copied, let mark = node.mark {
            if (mark.line, mark.column) >= frontier { frontier = (mark.line, mark.column); written = node } else { copied = true }
        }
        nodes += 1
        if nodes > Self.maxNodes {
            throw reader.error(written, copied
                ? "this value expands to more than \(Self.maxNodes) values through YAML aliases (*name); write the values out, or use fewer aliases"
                : "the document has more than \(Self.maxNodes) values; is this the right file?")
        }
        if depth > Self.maxDepth {
            throw reader.error(written, "values are nested more than \(Self.maxDepth) levels deep here; flatten the structure")
        }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                try visit(key, depth: depth + 1, written: written, copied: copied)
                try visit(value, depth: depth + 1, written: written, copied: copied)
            }
        case .sequence(let sequence):
            for item in sequence { try visit(item, depth: depth + 1, written: written, copied: copied) }
        case .scalar, .alias:
            break
        }
    }
}
