/// Where a value came from, so errors can say "cairn.yaml:12:5" or "environment REDIS_URL".
public enum ValueOrigin: Equatable, Sendable, CustomStringConvertible {
    case file(path: String, line: Int, column: Int)
    case environment(String)
    case commandLine(String)
    case builtIn

    public var description: String {
        switch self {
        case .file(let path, let line, let column): return "\(path):\(line):\(column)"
        case .environment(let name): return "environment variable \(name)"
        case .commandLine(let flag): return "command-line option \(flag)"
        case .builtIn: return "built-in default"
        }
    }
}
