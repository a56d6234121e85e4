import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation
import Logging

/// Log lines go to stderr, timestamped like the run log, so stdout stays clean for results and --json.
enum LoggingSetup {
    nonisolated(unsafe) private static var done = false
    /// --log-format json: run events on stderr are JSON objects too.
    nonisolated(unsafe) private(set) static var json = false

    static func bootstrap(level: Logger.Level, json: Bool) {
        guard !done else { return }
        done = true
        self.json = json
        LoggingSystem.bootstrap { _ in StderrLogHandler(logLevel: level, json: json) }
    }
}

/// "2026-11-26T19:01:02Z warning plugin=redis message": the same shape as the run log file; with
/// --log-format json, one object per line for log shippers:
/// {"time": "...", "level": "warning", "message": "...", "plugin": "redis"}.
struct StderrLogHandler: LogHandler {
    var logLevel: Logger.Level
    var json = false
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let clearLine = isatty(STDERR_FILENO) == 1 ? "\r\u{1B}[K" : ""

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        if json {
            var object: [String: JSONValue] = merged.mapValues { .string("\($0)") }
            object["time"] = .string(ISO8601DateFormatter().string(from: Date()))
            object["level"] = .string(event.level.rawValue)
            object["message"] = .string("\(event.message)")
            return StandardStreams.err(JSONValue.object(object).jsonText + "\n")
        }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value) " }.joined()
        let time = ISO8601DateFormatter().string(from: Date())
        // On a terminal, clear the progress line first so the log line does not run into it.
        StandardStreams.err("\(Self.clearLine)\(time) \(event.level.rawValue) \(fields)\(event.message)\n")
    }
}
