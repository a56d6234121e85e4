import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// What the steps of one run share: the backups it made, which components were aborted or
/// skipped by their hooks, and the step summaries so far. Parallel steps update it concurrently.
final class RunContext: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.
    enum ComponentState { case ready, aborted(String), skipped }

    let runID: String
    let pipeline: String
    let component: String?
    let logFile: String?
    /// The components' locks in the store this run holds (taken by backup steps).
    let leases = LeaseSet()
    private let lock = NSLock()
    private var backups: [String: BackupSummary] = [:]
    private var backupOrder: [String] = []
    private var components: [String: ComponentState] = [:]
    private var componentLogs: [String: String] = [:]
    private(set) var steps: [StepSummary] = []
    /// What the steps saw of the escalation conditions (storage, resources, corruption).
    private var observations: [ConditionObservation] = []
    private var nextIndex = 0
    /// The first step error that said the configuration is wrong (ConfigurationFailure).
    private var configuration: String?

    init(runID: String, pipeline: String, component: String?, logFile: String?) {
        self.runID = runID; self.pipeline = pipeline; self.component = component; self.logFile = logFile
    }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body()
    }

    func backup(of component: String) -> BackupSummary? { withLock { backups[component] } }

    func store(_ backup: BackupSummary) {
        withLock {
            if backups[backup.component] == nil { backupOrder.append(backup.component) }
            backups[backup.component] = backup
        }
    }

    var allBackups: [BackupSummary] { withLock { backupOrder.compactMap { backups[$0] } } }

    /// nil the first time a component is seen (its `before` hooks must run), else its state.
    func state(of component: String) -> ComponentState? { withLock { components[component] } }
    func setState(_ state: ComponentState, for component: String) { withLock { components[component] = state } }
    var touchedComponents: [(String, ComponentState)] { withLock { components.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } } }

    /// A component's own log file (nested pipelines run for one component).
    func setLog(_ path: String, for component: String) { withLock { componentLogs[component] = path } }
    func log(of component: String) -> String? { withLock { componentLogs[component] } }

    func reserveIndex() -> Int { withLock { defer { nextIndex += 1 }; return nextIndex } }
    func append(_ step: StepSummary) { withLock { steps.append(step) } }
    func observe(_ found: [ConditionObservation]) { withLock { observations += found } }
    var allObservations: [ConditionObservation] { withLock { observations } }

    func configurationFailed(_ error: String) { withLock { if configuration == nil { configuration = error } } }
    var configurationError: String? { withLock { configuration } }
}
