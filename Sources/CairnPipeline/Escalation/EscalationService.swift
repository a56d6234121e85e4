import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation
import Logging

/// Turns observations into incidents: opens one per key when a condition holds (once, however
/// often it is seen again), escalates it to the secondary contact when it stays open past
/// `escalate_after`, resolves it when the condition is seen healthy, and tells the escalation
/// hooks each time. Any command can report observations; nothing here throws at its caller or
/// changes its outcome.
public struct EscalationService {
    let resources: any RunResources
    let logger: Logger
    var settings: EscalationSettings { resources.config.escalation }

    public init(resources: any RunResources, logger: Logger) { self.resources = resources; self.logger = logger }

    /// Applies the observations of one run or command, then escalates overdue incidents.
    /// Problems with the state database are logged as warnings and skipped.
    @discardableResult
    public func report(_ observations: [ConditionObservation], source: ObservationSource) -> [EscalationNotice] {
        func warn(_ error: any Error) {
            logger.warning("escalation could not be evaluated: \(describe(error)); the run's own outcome is unaffected")
        }
        let state: StateStore
        do { state = try resources.openState() } catch { warn(error); return [] }
        var notices: [EscalationNotice] = []
        for observation in Self.merged(observations) {
            do {
                if let notice = try apply(observation, state: state, source: source) { notices.append(notice) }
            } catch { warn(error) }
        }
        do { notices += try escalateOverdue(state: state, source: source) } catch { warn(error) }
        return notices
    }

    /// Adds the secondary contact to incidents open longer than `escalate_after` (once each).
    public func escalateOverdue(source: ObservationSource) throws -> [EscalationNotice] {
        try escalateOverdue(state: try resources.openState(), source: source)
    }

    /// Closes an open incident by hand and tells the hooks, as an automatic resolve would.
    public func resolve(key: String, note: String?) throws -> (IncidentRecord, EscalationNotice) {
        let state = try resources.openState()
        guard let open = try state.openIncident(key: key), let id = open.id,
              let incident = try state.resolveIncident(id: id, at: Date(), resolution: "by hand" + (note.map { ": \($0)" } ?? ""), runID: nil)
        else {
            let open = try state.incidents().map(\.key)
            throw CairnError.usage("no open incident with key '\(key)' (open: \(open.isEmpty ? "none" : open.joined(separator: ", "))); see cairn incidents")
        }
        let notice = notify(.resolve, incident: incident, state: state,
                            source: ObservationSource(runID: nil, logFile: nil, origin: "cairn incidents resolve"))
        return (try state.incident(id: id) ?? incident, notice)
    }

    // MARK: Observations

    /// One observation per key: a problem seen anywhere in the run outweighs a success seen elsewhere
    /// (a store that passed its access check and then failed an upload is not healthy).
    static func merged(_ observations: [ConditionObservation]) -> [ConditionObservation] {
        var order: [String] = []
        var byKey: [String: ConditionObservation] = [:]
        for observation in observations {
            let id = "\(observation.environment ?? "")/\(observation.subject)/\(observation.condition.rawValue)"
            if let existing = byKey[id] {
                if existing.healthy && !observation.healthy { byKey[id] = observation }
            } else {
                order.append(id)
                byKey[id] = observation
            }
        }
        return order.compactMap { byKey[$0] }
    }

    private func apply(_ observation: ConditionObservation, state: StateStore, source: ObservationSource) throws -> EscalationNotice? {
        let environment = observation.environment ?? resources.environmentName
        var observation = observation
        if observation.condition == .consecutiveFailures {
            let streak = try state.recordBackupAttempt(component: observation.component, environment: environment,
                                                       succeeded: observation.healthy, error: observation.healthy ? nil : observation.summary)
            if !observation.healthy {
                guard streak.failures >= settings.consecutiveFailures else {
                    logger.info("escalation: \(observation.component) failed \(streak.failures) time\(streak.failures == 1 ? "" : "s") in a row (an incident opens at \(settings.consecutiveFailures))")
                    return nil
                }
                observation.summary = "\(observation.component) backup failed \(streak.failures) times in a row in \(environment): \(observation.summary)"
                observation.evidence["consecutive_failures"] = .number(Double(streak.failures))
                observation.evidence["threshold"] = .number(Double(settings.consecutiveFailures))
                observation.evidence["first_failure_at"] = streak.firstFailureAt.map { .string(EscalationEvent.timestamp($0)) } ?? .null
                observation.evidence["last_success_at"] = streak.lastSuccessAt.map { .string(EscalationEvent.timestamp($0)) } ?? .null
            }
        }
        let policy = settings.policy(observation.condition)
        let key = ConditionObservation.key(environment: environment, subject: observation.subject, condition: observation.condition)
        let open = try state.openIncident(key: key)
        let now = Date()

        if observation.healthy {
            // Closed only if still open: of two cairn processes seeing the success, one resolves.
            guard let id = open?.id, let incident = try state.resolveIncident(
                id: id, at: now, resolution: "\(source.runID.map { "run \($0)" } ?? source.origin): \(observation.summary)",
                runID: source.runID) else { return nil }
            return notify(.resolve, incident: incident, state: state, source: source)
        }
        guard policy.enabled else { return nil }
        var evidence = observation.evidence
        evidence["seen_by"] = .string(source.origin)
        if let id = open?.id {
            // Seen again while open: recorded, not re-triggered.
            guard let incident = try state.recordRecurrence(id: id, at: now, summary: observation.summary,
                                                            evidence: JSONValue.object(evidence).jsonText, runID: source.runID)
            else { return nil }
            // Hooks that never took the trigger (down, refused, timed out) get it now.
            let delivered = Set(incident.deliveryValues.filter {
                $0["action"]?.stringValue == "trigger" && $0["outcome"]?.stringValue == "ok"
            }.compactMap { $0["hook"]?.stringValue })
            let missing = settings.hooks.filter { !delivered.contains($0.path) }
            guard !missing.isEmpty else { return nil }
            return notify(.trigger, incident: incident, state: state, source: source, hooks: missing)
        }
        let incident = IncidentRecord(
            id: nil, key: key, environment: environment, component: observation.subject,
            condition: observation.condition.rawValue, severity: policy.severity.rawValue, status: .open,
            summary: observation.summary, evidence: JSONValue.object(evidence).jsonText, openedAt: now,
            openedRunID: source.runID, lastSeenAt: now, lastRunID: source.runID, occurrences: 1,
            escalatedAt: nil, resolvedAt: nil, resolution: nil, deliveries: "[]")
        let saved: IncidentRecord
        do { saved = try state.insertIncident(incident) } catch {
            // Another cairn process opened it a moment ago: it triggers, not us.
            if try state.openIncident(key: key) != nil { return nil }
            throw error
        }
        logger.warning("escalation: incident \(key) opened: \(observation.summary)")
        return notify(.trigger, incident: saved, state: state, source: source)
    }

    /// When the state database itself cannot be written (a full disk), no incident can be recorded,
    /// deduplicated or counted; the hooks still hear of the problem, on every run that meets it,
    /// since a run that cannot begin backs nothing up.
    public func reportUnrecorded(_ observation: ConditionObservation, source: ObservationSource) -> EscalationNotice? {
        let policy = settings.policy(observation.condition)
        guard !observation.healthy, policy.enabled else { return nil }
        let environment = observation.environment ?? resources.environmentName
        let now = Date()
        var evidence = observation.evidence
        evidence["seen_by"] = .string(source.origin)
        evidence["recorded"] = .bool(false)
        let incident = IncidentRecord(
            id: nil, key: ConditionObservation.key(environment: environment, subject: observation.subject, condition: observation.condition),
            environment: environment, component: observation.subject, condition: observation.condition.rawValue,
            severity: policy.severity.rawValue, status: .open, summary: observation.summary, evidence: JSONValue.object(evidence).jsonText,
            openedAt: now, openedRunID: source.runID, lastSeenAt: now, lastRunID: source.runID, occurrences: 1,
            escalatedAt: nil, resolvedAt: nil, resolution: nil, deliveries: "[]")
        logger.error("escalation: \(incident.key) (not recorded: the state database cannot be written): \(observation.summary)")
        return notify(.trigger, incident: incident, state: nil, source: source)
    }

    private func escalateOverdue(state: StateStore, source: ObservationSource) throws -> [EscalationNotice] {
        let now = Date()
        var notices: [EscalationNotice] = []
        for candidate in try state.incidents()
        where candidate.escalatedAt == nil && now.timeIntervalSince(candidate.openedAt) >= settings.escalateAfter {
            guard let id = candidate.id, let incident = try state.escalateIncident(id: id, at: now) else { continue }
            let secondary = contacts(for: incident).contacts?.secondary ?? "no secondary contact configured"
            logger.warning("escalation: incident \(incident.key) open since \(EscalationEvent.timestamp(incident.openedAt)); escalated to \(secondary)")
            notices.append(notify(.escalate, incident: incident, state: state, source: source))
        }
        return notices
    }

    // MARK: Delivery

    private func contacts(for incident: IncidentRecord) -> (issueType: String, contacts: EscalationSettings.Contacts?) {
        let issueType = EscalationCondition(rawValue: incident.condition).map { settings.policy($0).issueType } ?? ""
        return (issueType, settings.contacts[issueType])
    }

    private func notify(_ action: EscalationEvent.Action, incident: IncidentRecord, state: StateStore?,
                        source: ObservationSource, hooks: [HookSpec]? = nil) -> EscalationNotice {
        let (issueType, contacts) = self.contacts(for: incident)
        let event = EscalationEvent(action: action, incident: incident, contacts: contacts, issueType: issueType,
                                    source: source, logTail: settings.sendLogs ? source.logFile.map(Self.tail) : nil)
        let notifier = EscalationNotifier(hooks: settings.hooks, runner: resources.hooks, logger: logger)
        let deliveries = notifier.deliver(event, to: hooks)
        if let id = incident.id, let state {
            for delivery in deliveries {
                do { try state.appendDelivery(incidentID: id, delivery) } catch {
                    logger.warning("escalation: cannot record the delivery for \(incident.key): \(describe(error))")
                }
            }
        }
        if settings.hooks.isEmpty {
            logger.log(level: action == .resolve ? .info : .warning,
                                 "escalation: \(action.rawValue) of \(incident.key) (no escalation hooks configured; see cairn incidents)")
        }
        return EscalationNotice(key: incident.key, action: action.rawValue,
                                delivered: deliveries.filter { $0["outcome"]?.stringValue == "ok" }.count,
                                hooks: deliveries.count)
    }

    /// The last 50 lines of the log (send_logs: true only).
    static func tail(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Array(text.split(separator: "\n", omittingEmptySubsequences: false).suffix(50).map(String.init))
    }
}
