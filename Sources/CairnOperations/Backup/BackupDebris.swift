import CairnCore
import CairnInterfaces
import CairnState
import Foundation

/// What a killed or cancelled run leaves in the store, and who removes it: a cancelled run
/// removes its own unverified archive (`discard`); the next backup of the component removes what
/// dead runs left (`removeDebris`). Neither ever touches a live run's objects nor latest.tar.gz.
extension BackupService {
    /// Before a backup: what interrupted runs were writing or stored without verifying, then the
    /// store's own sweep (the filesystem's partial files of dead processes, S3's multipart uploads
    /// left for more than a day). A failure is a warning: the debris waits for the next run or
    /// `cairn prune`, and the backup goes on.
    func removeDebris(layout: StorageLayout, store: any ObjectStore) {
        do {
            for record in try state.unverifiedBackupsOfInterruptedRuns(component: layout.component, environment: environment) {
                settle(record, store: store)
            }
        } catch {
            logger.warning("cannot look for archives that interrupted runs left: \(describe(error))")
        }
        guard let cleanup else { return }
        do {
            let value = try cleanup.run(layout.prefix, PruneService.cleanupAge)
            if let count = value.numberValue, count > 0 {
                logger.info("\(cleanup.name) removed \(Int(count)) leftover(s) of dead runs under \(layout.prefix)")
            } else if (value.numberValue ?? -1) < 0 {
                logger.warning("\(cleanup.name) under \(layout.prefix) reported a failure (\(value.jsonText)); see the log above")
            }
        } catch {
            logger.warning("\(cleanup.name) under \(layout.prefix) failed: \(describe(error)); `cairn prune` sweeps again")
        }
    }

    /// Removes one interrupted run's archive and records the attempt as failed. One it was still
    /// writing may exist only as the store's unfinished object (an S3 multipart upload): the
    /// store's sweep is run for exactly that key with no age, as no live run writes it.
    private func settle(_ record: BackupRecord, store: any ObjectStore) {
        let run = record.runID ?? "?"
        let wasWriting = record.outcome == .running
        do {
            try store.remove(key: record.storageKey)
            if wasWriting, let cleanup {
                let value = try cleanup.run(record.storageKey, 0)
                if (value.numberValue ?? -1) < 0 {
                    throw CairnError.failure("\(cleanup.name) reported a failure (\(value.jsonText))")
                }
            }
        } catch {
            logger.warning("cannot remove \(record.storageKey), left by interrupted run \(run): \(describe(error)); the next backup tries again")
            return
        }
        var settled = record
        settled.outcome = .failure
        settled.error = "run \(run) was interrupted \(wasWriting ? "while writing" : "before verifying") this archive; "
            + "a later run removed it"
        do { try state.record(settled) } catch {
            logger.warning("removed \(record.storageKey) but cannot record it: \(describe(error))")
        }
        logger.warning("removed \(record.storageKey): run \(run) was interrupted \(wasWriting ? "while writing it" : "before verifying it")")
    }

    /// A run that is cancelled (Ctrl-C, SIGTERM, a step's timeout) before its new archive was
    /// verified removes it: nothing vouches for it, and it was never latest.
    public func discard(_ backup: BackupSummary, because reason: String) throws {
        try openStore().remove(key: backup.key)
        if var record = try state.backup(id: backup.backupID) {
            record.outcome = .failure
            record.error = "\(reason) before the archive was verified; it was removed"
            try state.record(record)
        }
        logger.warning("removed \(backup.key): \(reason) before it was verified")
    }
}
