import Foundation

/// What a finished step or command says about the escalation conditions. Host checks speak for
/// the host's resources, storage checks and store operations for the store, verifications for
/// the integrity of a component's archives. A component's own pre-check speaks for none of them:
/// its failure counts as a failed backup (`consecutive_failures`, decided per run). Commands
/// outside pipelines (verify, integrity checks) use the public rules and `EscalationService.report`.
public enum ConditionFindings {
    /// After an attempt that returned (it may still have failed checks).
    static func after(_ action: StepAction, work: StepWork) -> [ConditionObservation] {
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
    public static func after(_ action: StepAction, error: any Error, storageLabel: String) -> [ConditionObservation] {
        if let failed = error as? VerificationFailed, case .verify(let component, let which) = action {
            return verification(component: component, backup: which, failures: failed.report.checks.failures)
        }
        let isStoreError = (error as? PluginCallError)?.label == storageLabel
        if isStoreError || (action == .storageCheck && (error as? CairnError)?.kind != .usage) {
            return [.problem(.storageInaccessible, component: "storage", "store inaccessible: \(describe(error))",
                             evidence: ["error": .string(describe(error)), "step": .string(action.kind)])]
        }
        return []
    }

    public static func hostCheck(_ checks: [CheckResult]) -> [ConditionObservation] {
        let failures = checks.failures
        return [failures.isEmpty
            ? .healthy(.resourcesExhausted, component: "host", "host checks passed")
            : .problem(.resourcesExhausted, component: "host", "host resources exhausted: \(summarize(failures))",
                       evidence: ["failed_checks": encode(failures)])]
    }

    public static func storageCheck(_ checks: [CheckResult]) -> [ConditionObservation] {
        let failures = checks.failures
        return [failures.isEmpty
            ? .healthy(.storageInaccessible, component: "storage", "storage access check passed")
            : .problem(.storageInaccessible, component: "storage", "store inaccessible: \(summarize(failures))",
                       evidence: ["failed_checks": encode(failures)])]
    }

    /// Failed checks of a read-back are corruption; a clean read-back is the success that resolves it.
    public static func verification(component: String, backup: String, failures: [CheckResult]) -> [ConditionObservation] {
        guard !failures.isEmpty else {
            return [.healthy(.corruptionDetected, component: component, "\(component) backup (\(backup)) verified")]
        }
        return [.problem(.corruptionDetected, component: component,
                         "corruption detected in the \(component) backup (\(backup)): \(summarize(failures))",
                         evidence: ["backup": .string(backup), "failed_checks": encode(failures)])]
    }

    static func summarize(_ failures: [CheckResult]) -> String {
        failures.map { "\($0.source)/\($0.name): \($0.message)" }.joined(separator: "; ")
    }

    static func encode(_ checks: [CheckResult]) -> JSONValue {
        .array(checks.map { check in
            .object(["source": .string(check.source), "name": .string(check.name), "status": .string(check.status.rawValue),
                     "message": .string(check.message), "detail": check.detail ?? .null])
        })
    }
}
