import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// What a run leaves behind besides its log: step history and the runbook's record file.
extension PipelineRunner {
    func recordStep(_ step: StepSummary, index: Int, started: Date, context: RunContext) {
        guard let state = try? resources.openState() else { return }
        try? state.recordStep(StepRecord(runID: context.runID, index: index, name: step.name, kind: step.kind,
                                         component: step.component, startedAt: started, finishedAt: Date(),
                                         outcome: step.outcome.rawValue, attempts: step.attempts,
                                         bytes: context.backup(of: step.component ?? "").map { $0.bytes } ?? 0,
                                         error: step.error))
    }

    /// The runbook's manual_backups.log: one line per backup the run made.
    func writeRecordLines(_ summary: RunSummary) {
        let formatter = ISO8601DateFormatter()
        var lines = ""
        for backup in summary.backups {
            let location = resources.artifactURL(key: backup.published ? backup.latestKey : backup.key)
            let outcome = backup.published ? "success" : backup.verified ? "stored (not published)"
                : backup.verification != nil ? "verification failed (archive removed)" : "stored (not verified)"
            let verification = backup.verification.map { " verification=\"\($0)\"" } ?? ""
            lines += "\(formatter.string(from: summary.finishedAt)) \(backup.component) backup \(outcome): backup_id=\(backup.backupID) environment=\(backup.environment) location=\(location) bytes=\(backup.bytes) run=\(summary.runID)\(verification)\n"
        }
        // A failed backup step, or a failed per-component pipeline (emergency: its pre-checks may
        // have stopped it before the backup step): one line per component.
        var failed: Set<String> = []
        for step in summary.steps where step.kind == "backup" || (step.kind == "pipeline" && step.component != nil) {
            guard step.outcome != .success, step.outcome != .skipped, let component = step.component,
                  failed.insert(component).inserted else { continue }
            lines += "\(formatter.string(from: summary.finishedAt)) \(component) backup failed: environment=\(summary.environment) run=\(summary.runID) error=\(step.error ?? "")\n"
        }
        guard !lines.isEmpty else { return }
        let path = config.recordFilePath
        try? FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            scope.logger.warning("cannot append to the record file \(path)")
            return
        }
        _ = try? handle.seekToEnd()
        handle.write(Data(lines.utf8))
        try? handle.close()
    }
}
