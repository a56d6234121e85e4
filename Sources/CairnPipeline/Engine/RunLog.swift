import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation
import Logging

/// The run's log file (`logs/backup/backup_<component>_YYYYMMDD.log`), appended line by line.
final class RunLog: @unchecked Sendable {
    // @unchecked: writes are serialized by `lock`; parallel steps log from several threads.
    let path: String
    private let handle: FileHandle?
    private let lock = NSLock()
    private let formatter = ISO8601DateFormatter()

    init(path: String) {
        self.path = path
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    deinit { try? handle?.close() }

    func write(_ level: String, _ message: String) {
        lock.lock(); defer { lock.unlock() }
        handle?.write(Data("\(formatter.string(from: Date())) \(level) \(message)\n".utf8))
    }

    /// `<dir>/backup/backup_<component>_YYYYMMDD.log` for backups (the runbook's name), else
    /// `<dir>/<pipeline>/<pipeline>[_<component>]_YYYYMMDD.log`. Dates in UTC.
    static func path(logDir: String, pipeline: String, component: String?, date: Date) -> String {
        let day = BackupID.day(date)
        let name = [pipeline, component].compactMap { $0 }.joined(separator: "_")
        return URL(fileURLWithPath: logDir).appendingPathComponent(pipeline).appendingPathComponent("\(name)_\(day).log").path
    }
}

/// Sends log records to the run log file and on to the usual handler (stderr).
struct RunLogHandler: LogHandler {
    let log: RunLog
    var next: Logger
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let prefix = merged.isEmpty ? "" : merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " "
        // A plugin worker's own output (a crash's backtrace) is logged at debug so that the
        // terminal shows it only with --log-level debug; the run log always keeps it.
        let fromWorker = merged["stream"].map { "\($0)" } == "worker"
        if event.level >= .info || next.logLevel <= event.level || fromWorker {
            log.write(event.level.rawValue, prefix + event.message.description)
        }
        next.log(level: event.level, event.message, metadata: event.metadata, source: event.source,
                 file: event.file, function: event.function, line: event.line)
    }
}
