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

    /// Before composing. Yams hashes every mapping key while it composes (to find duplicates), so
    /// an alias of a huge collection in a key's place expands there, before `check` can count
    /// it. Keys in cairn.yaml are names: an alias of a defined anchor where a key goes (`*a: v`,
    /// `? *a`) is refused. Quoted text and comments are skipped; the anchor must be defined, so
    /// a block scalar's text is not mistaken for one.
    static func refuseAliasKeys(in text: String, path: String) throws {
        guard text.contains("&"), text.contains("*") else { return }
        // libyaml's anchor names: ASCII letters, digits, '-' and '_'.
        func isNameCharacter(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
        }
        var anchors = Set<String>(), aliases: [(name: String, line: Int, column: Int)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let scalars = Array(line.unicodeScalars)
            var index = 0, quote: Unicode.Scalar?
            while index < scalars.count {
                let c = scalars[index]
                let before = index == 0 ? " " : scalars[index - 1]
                if let open = quote {
                    if c == open { quote = nil }
                } else if c == "'" || c == "\"" {
                    quote = c
                } else if c == "#" && (before == " " || before == "\t" || index == 0) {
                    break
                } else if c == "&" || c == "*", " \t[{,?".unicodeScalars.contains(before) || index == 0 {
                    var end = index + 1
                    while end < scalars.count, isNameCharacter(scalars[end]) { end += 1 }
                    let name = String(String.UnicodeScalarView(scalars[(index + 1)..<end]))
                    let rest = scalars[end...].drop { $0 == " " || $0 == "\t" }
                    let previous = scalars[..<index].last(where: { $0 != " " && $0 != "\t" })
                    let colonFollows = rest.first == ":" && (rest.count == 1 || " \t,]}".unicodeScalars.contains(rest[rest.startIndex + 1]))
                    if c == "&" {
                        anchors.insert(name)
                    } else if !name.isEmpty, previous == "?" || colonFollows {
                        aliases.append((name, number + 1, index + 1))
                    }
                    index = end
                    continue
                }
                index += 1
            }
        }
        if let alias = aliases.first(where: { anchors.contains($0.name) }) {
            throw CairnError.usage("\(path):\(alias.line):\(alias.column): an alias (*\(alias.name)) stands where a key goes; keys in cairn.yaml are names: write the key out")
        }
    }

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
