import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// Printing results for people or, with --json, for programs.
enum Output {
    static func line(_ text: String = "") { StandardStreams.out(text + "\n") }

    /// Set by --json: errors then also end stdout with a JSON error object.
    nonisolated(unsafe) static var jsonMode = false
    /// Set by --quiet.
    nonisolated(unsafe) static var quiet = false

    static func error(_ message: String, exitCode: CairnCore.ExitCode) {
        StandardStreams.err("cairn: error: \(message)\n")
        if jsonMode { jsonError(message, exitCode: exitCode) }
    }

    /// The error object that ends stdout under --json (docs/json.md).
    static func jsonError(_ message: String, exitCode: CairnCore.ExitCode) {
        JSONLinesReporter.emit(["type": .string("error"), "message": .string(message), "exit_code": .number(Double(exitCode.rawValue))])
    }

    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// 1536 -> "1.5 KiB".
    static func bytes<N: BinaryInteger>(_ count: N) -> String {
        var value = Double(count)
        for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
            if value < 1024 || unit == "TiB" { return unit == "B" ? "\(Int(value)) B" : String(format: "%.1f %@", value, unit) }
            value /= 1024
        }
        return "\(count) B"
    }

    static func checks(_ results: [CheckResult]) {
        for check in results {
            let mark = Marks.mark(check.status)
            line("  \(mark) \(check.source)/\(check.name): \(check.message)")
        }
    }

    /// Left-aligned columns; an empty first cell stays (a row that continues the one above).
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            line(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression))
        }
    }
}
