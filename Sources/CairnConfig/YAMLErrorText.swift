import CairnCore
import Yams

/// Yams' errors as "path:line:column: problem". Never with the document's text, which Yams puts
/// in some of its own descriptions and which may hold passwords.
enum YAMLErrorText {
    static func describe(_ error: YamlError, text: String, path: String) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return "\(path):\(mark.line):\(mark.column): \(problem)" + (context.map { " \($0.text)" } ?? "")
        case .reader(let problem, let offset, _, _):
            return "\(offset.map { position(ofScalar: $0, in: text, path: path) } ?? path): \(problem)"
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams names the first occurrence; the one to remove or rename is usually the later one.
            let key = duplicates.first ?? ""
            let first = context.mark
            guard let second = secondOccurrence(of: key, first: (first.line, first.column), in: text) else {
                return "\(path):\(first.line):\(first.column): key '\(key)' appears more than once in this mapping; keep one"
            }
            return "\(path):\(second.line):\(second.column): key '\(key)' appears a second time in this mapping (first at line \(first.line), column \(first.column)); keep one"
        case .memory:
            return "\(path): out of memory while reading it"
        case .no, .writer, .emitter, .representer, .dataCouldNotBeDecoded:
            return "\(path): \(String(describing: error))"
        }
    }

    /// "path:line:column" of libyaml's reader offset, which counts Unicode scalars.
    private static func position(ofScalar offset: Int, in text: String, path: String) -> String {
        var line = 1, column = 1
        for scalar in text.unicodeScalars.prefix(offset) {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return "\(path):\(line):\(column)"
    }

    /// Where `key` appears again in the mapping whose key at `first` (1-based line and column,
    /// columns in Unicode scalars as libyaml counts them) it duplicates. Block mappings: the next
    /// line indented as far that starts with the key, before the mapping ends; flow mappings:
    /// the next `{`/`,`-led occurrence.
    static func secondOccurrence(of key: String, first: (line: Int, column: Int), in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        guard first.line >= 1, first.line <= lines.count, first.column >= 1 else { return nil }
        let tokens = [key, "\"\(key)\"", "'\(key)'"].map { Array($0.unicodeScalars) }
        func keyStarts(_ line: [Unicode.Scalar], at index: Int) -> Bool {
            tokens.contains { token in
                guard index + token.count <= line.count, Array(line[index..<index + token.count]) == token else { return false }
                let rest = line[(index + token.count)...].drop { $0 == " " || $0 == "\t" }
                return rest.first == ":"
            }
        }
        let column = first.column - 1
        let isBlock = lines[first.line - 1].prefix(column).allSatisfy { $0 == " " || $0 == "-" }
        for number in first.line..<lines.count + 1 {
            let line = lines[number - 1]
            if isBlock {
                guard number > first.line, let indent = line.firstIndex(where: { $0 != " " }), line[indent] != "#" else { continue }
                if indent < column { return nil }  // the mapping ended
                if indent == column, keyStarts(line, at: indent) { return (number, column + 1) }
            } else {
                let start = number == first.line ? column + 1 : 0
                guard start < line.count else { continue }
                for index in start..<line.count where keyStarts(line, at: index) {
                    let before = line[..<index].last(where: { $0 != " " && $0 != "\t" })
                    if before == nil || before == "{" || before == "," { return (number, index + 1) }
                }
            }
        }
        return nil
    }
}
