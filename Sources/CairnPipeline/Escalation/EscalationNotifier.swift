import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation
import Logging

/// Delivers escalation events to the configured hooks. A notifier never fails or hangs what
/// called it: each hook runs under its timeout, and every failure (a refused hook, a non-zero
/// exit, a timeout) is a warning in the log and a delivery record on the incident.
struct EscalationNotifier {
    let hooks: [HookSpec]
    let runner: HookRunner
    let logger: Logger

    /// One delivery record per hook, in the order the hooks are configured.
    func deliver(_ event: EscalationEvent, to selected: [HookSpec]? = nil) -> [JSONValue] {
        let input = Array((event.json().jsonText + "\n").utf8)
        return (selected ?? hooks).map { spec in
            let name = URL(fileURLWithPath: spec.path).lastPathComponent
            let logger = self.logger
            let outcome: String, message: String
            do {
                // CAIRN_HOOK_TIMEOUT lets the hook fit its retries into the time it has.
                let variables = event.variables + [("CAIRN_HOOK_TIMEOUT", String(format: "%g", spec.timeout))]
                let result = try runner.run(spec, input: input, variables: variables, cancellation: nil) { line, isError in
                    logger.log(level: isError ? .warning : .info, "[\(name)] \(line)")
                }
                switch result.status {
                case .ok, .skip: outcome = "ok"
                case .timedOut: outcome = "timed_out"
                default: outcome = "failed"
                }
                message = result.message
            } catch {
                outcome = "not_run"
                message = "escalation hook \(spec.path) could not run: \(describe(error))"
            }
            let what = "\(event.action.rawValue) of \(event.incident.key)"
            if outcome == "ok" {
                logger.info("escalation: \(what) delivered: \(message)")
            } else {
                logger.warning("escalation: \(what) NOT delivered (\(outcome)): \(message); the run's own outcome is unaffected")
            }
            return .object([
                "time": .string(EscalationEvent.timestamp(Date())),
                "action": .string(event.action.rawValue),
                "hook": .string(spec.path),
                "outcome": .string(outcome),
                "message": .string(message),
            ])
        }
    }
}
