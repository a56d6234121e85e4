import CairnArchive
import CairnConfig
import CairnCore
import CairnOperations
import Foundation

/// A run removes the archives it stored but did not verify, so they do not stay beside the good
/// ones: when it was cancelled (Ctrl-C, SIGTERM), and when it failed before its own `verify` of
/// that archive vouched for it (a step timed out or failed on the way, the verification ended
/// without a verdict). A failed verification has removed its archive already; a pipeline without
/// a verify step of the component keeps what it stored. What a killed run leaves is removed by
/// the next backup of the component (`BackupService.removeDebris`).
extension PipelineRunner {
    func discardUnverifiedBackups(_ context: RunContext, pipeline: Pipeline, outcome: Outcome, scope: RunScope) {
        for backup in context.allBackups where !backup.verified && backup.verification == nil {
            let reason: String
            if outcome == .cancelled {
                reason = "the run was cancelled"
            } else if outcome == .failure || outcome == .partial, Self.verifiesNew(pipeline.steps, of: backup.component) {
                reason = "the run failed"
            } else {
                continue
            }
            do {
                try discardUnverified(backup, because: reason, scope: scope)
            } catch {
                scope.logger.error("cannot remove \(backup.key), stored by this run and never verified: \(describe(error))")
            }
            var removed = backup
            removed.verification = "not verified: \(reason)"
            context.store(removed)
        }
    }

    /// Whether the steps (parallel groups included) verify this run's new backup of `component`.
    static func verifiesNew(_ steps: [PipelineStep], of component: String) -> Bool {
        steps.contains { step in
            switch step.action {
            case .verify(let verified, let which): return verified == component && which == "new"
            case .parallel(let members): return verifiesNew(members, of: component)
            default: return false
            }
        }
    }

    private func discardUnverified(_ backup: BackupSummary, because reason: String, scope: RunScope) throws {
        // The run's cancellation is set by now; the removal must still reach the store.
        let cleanupScope = scope.with(cancellation: Cancellation())
        let service = BackupService(openStore: { try self.resources.openStore(cleanupScope) },
                                    storeDescription: resources.storeDescription, state: try resources.openState(),
                                    environment: resources.environmentName,
                                    archiveOptions: ArchiveOptions(format: config.compressionFormat, compressionLevel: config.compressionLevel), logger: scope.logger)
        try service.discard(backup, because: reason)
    }
}
