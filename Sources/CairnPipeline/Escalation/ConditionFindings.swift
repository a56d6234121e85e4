import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// What a finished step or command says about the escalation conditions. Host checks speak for
/// the host's resources, storage checks and store operations for the store, verifications for
/// the integrity of a component's archives. A component's own pre-check speaks for none of them:
/// its failure counts as a failed backup (`consecutive_failures`, decided per run).
public enum ConditionFindings {
    /// After an attempt that returned (it may still have failed checks).
    static func after(_ action: StepAction, work: StepWork) -> [ConditionObservation] {
        if let report = work.health { return health(report) }
        switch action {
        case .hostCheck: return hostCheck(work.checks)
        case .storageCheck: return storageCheck(work.checks)
        case .backup, .publish:
            return [.healthy(.storageInaccessible, component: "storage", "\(action.kind) wrote to the store")]
        case .verify(let component, let which):
            return verification(component: component, backup: which, failures: work.checks.failures)
                + [.healthy(.storageInaccessible, component: "storage", "verification read from the store")]
        default:
            return []
        }
    }

    /// After an attempt that threw.
    public static func after(_ action: StepAction, error: any Error) -> [ConditionObservation] {
        if let failed = error as? BackupService.VerificationFailure, case .verify(let component, let which) = action {
            return verification(component: component, backup: which, failures: failed.report.checks.failures)
        }
        if action == .storageCheck && !ConfigurationFailure.describes(error) {
            return [.problem(.storageInaccessible, component: "storage", "store inaccessible: \(describe(error))",
                             evidence: ["error": .string(describe(error)), "step": .string(action.kind)])]
        }
        return storeFailure(error)
    }

    /// A failure of the store itself (connect, list, read, write) is the store's problem; any
    /// other error says nothing about it, nor does a store that says its configuration is wrong
    /// (a bucket that does not exist): that is the operator's to fix, not an incident.
    public static func storeFailure(_ error: any Error) -> [ConditionObservation] {
        guard let failure = error as? StoreError, !ConfigurationFailure.describes(failure) else { return [] }
        return [.problem(.storageInaccessible, component: "storage", "store inaccessible: \(failure)",
                         evidence: ["error": .string(failure.description), "operation": .string(failure.operation)])]
    }

    public static func hostCheck(_ checks: [CheckResult]) -> [ConditionObservation] {
        let failures = checks.failures
        return [failures.isEmpty
            ? .healthy(.resourcesExhausted, component: "host", "host checks passed")
            : .problem(.resourcesExhausted, component: "host", "host resources exhausted: \(failures.described)",
                       evidence: ["failed_checks": encode(failures)])]
    }

    public static func storageCheck(_ checks: [CheckResult]) -> [ConditionObservation] {
        let failures = checks.failures
        return [failures.isEmpty
            ? .healthy(.storageInaccessible, component: "storage", "storage access check passed")
            : .problem(.storageInaccessible, component: "storage", "store inaccessible: \(failures.described)",
                       evidence: ["failed_checks": encode(failures)])]
    }

    /// Failed checks of a read-back are corruption, in any backup. Only a clean read-back of the
    /// backup that matters (this run's new one, or latest) resolves it: an old one verifying
    /// says nothing about latest.tar.gz.
    public static func verification(component: String, backup: String, failures: [CheckResult]) -> [ConditionObservation] {
        guard !failures.isEmpty else {
            guard backup == "new" || backup == "latest" else { return [] }
            return [.healthy(.corruptionDetected, component: component, "\(component) backup (\(backup)) verified")]
        }
        return [.problem(.corruptionDetected, component: component,
                         "corruption detected in the \(component) backup (\(backup)): \(failures.described)",
                         evidence: ["backup": .string(backup), "failed_checks": encode(failures)])]
    }

    /// What daily validation (`cairn validate`) or the integrity test (`cairn integrity`) found,
    /// per component and environment. A damaged archive, unreadable metadata or a restore drill
    /// that disagrees with the metadata is corruption; a missing or too old backup is
    /// `backup_stale`; a store that could not be listed during validation is the store's problem.
    /// A clean validation resolves `backup_stale`; a clean integrity test, which reads every byte
    /// but not the backup's age, resolves corruption.
    public static func health(_ report: HealthReport) -> [ConditionObservation] {
        let readsEverything = report.kind == "integrity"
        return report.results.flatMap { result -> [ConditionObservation] in
            let component = result.component, environment = result.environment
            let what = "\(report.kind) of \(component) in \(environment)"
            var evidence: [String: JSONValue] = [
                "check": .string(report.kind), "finding": .string(result.evidence),
                "problem": result.problem.map { .string($0.rawValue) } ?? .null,
                "backup_id": result.backupID.map { .string($0) } ?? .null, "key": result.key.map { .string($0) } ?? .null,
            ]
            if !result.checks.failures.isEmpty { evidence["failed_checks"] = encode(result.checks.failures) }
            switch result.problem {
            case .corrupt?, .unreadableMetadata?, .drillMismatch?:
                return [.problem(.corruptionDetected, component: component, "corruption detected by the \(what): \(result.evidence)",
                                 evidence: evidence, environment: environment)]
            case .missing?, .stale?:
                evidence["age_seconds"] = result.ageSeconds.map { .number($0) } ?? .null
                evidence["max_age_seconds"] = result.maxAgeSeconds.map { .number($0) } ?? .null
                return [.problem(.backupStale, component: component, "no recent backup (\(what)): \(result.evidence)",
                                 evidence: evidence, environment: environment)]
            case .misconfigured?:
                return []  // the operator's to fix, not an incident (ConfigurationFailure)
            case .unreachable?:
                guard !readsEverything else { return [] }  // the integrity test's drill may be what failed
                return [.problem(.storageInaccessible, component: component, "store inaccessible (\(what)): \(result.evidence)",
                                 evidence: evidence, environment: environment)]
            case nil:
                // Validation proves the newest backup is recent; integrity that latest reads back whole.
                return [readsEverything
                    ? .healthy(.corruptionDetected, component: component, "\(what) passed: \(result.evidence)", environment: environment)
                    : .healthy(.backupStale, component: component, "\(what): \(result.evidence)", environment: environment)]
            }
        }
    }

    static func encode(_ checks: [CheckResult]) -> JSONValue {
        .array(checks.map { check in
            .object(["source": .string(check.source), "name": .string(check.name), "status": .string(check.status.rawValue),
                     "message": .string(check.message), "detail": check.detail ?? .null])
        })
    }
}
