import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "List open incidents (failed backups in a row, store down, resources exhausted, corruption) or resolve one by hand.",
        discussion: """
        An incident opens once per key (cairn/<environment>/<component>/<condition>) when a condition \
        of the runbook's "When to Escalate" holds, and resolves by itself on the next success. \
        Listing also escalates incidents open longer than escalation.escalate_after to their \
        secondary contact. See docs/escalation.md.

        Examples:
          cairn incidents
          cairn incidents --all --json
          cairn incidents resolve cairn/prod/redis/consecutive_failures --note "disk replaced"
        """,
        subcommands: [List.self, Resolve.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List open incidents of the environment (with --all, resolved ones too, newest first).")

        @Flag(name: .long, help: "Include resolved incidents (history).")
        var all = false

        @Option(name: .long, help: "How many incidents to show at most.")
        var limit = 100

        @OptionGroup var globals: GlobalOptions

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1, got \(limit)") }
        }

        func run() throws {
            let workspace = try globals.workspace()
            guard try workspace.existingStatePath(json: globals.json, nothing: "no incidents") != nil else { return }
            let service = EscalationService(resources: workspace, logger: workspace.scope.logger)
            _ = try service.escalateOverdue(source: ObservationSource(runID: nil, logFile: nil, origin: "cairn incidents"))
            workspace.shareState()
            let incidents = try workspace.openState().incidents(includeResolved: all, environment: workspace.environmentName, limit: limit)
            if globals.json { return try Output.json(incidents.map(IncidentView.init)) }
            if incidents.isEmpty {
                return Output.line("no \(all ? "" : "open ")incidents in \(workspace.environmentName)")
            }
            let formatter = ISO8601DateFormatter()
            Output.table(["KEY", "STATUS", "SEVERITY", "OPENED (UTC)", "SEEN", "ESCALATED", "NOTIFIED", "SUMMARY"], incidents.map { incident in
                // Hooks, not attempts: a hook retried three times is one hook, notified if any attempt got through.
                let deliveries = incident.deliveryValues
                let hooks = Set(deliveries.compactMap { $0["hook"]?.stringValue })
                let reached = Set(deliveries.filter { $0["outcome"]?.stringValue == "ok" }.compactMap { $0["hook"]?.stringValue })
                return [incident.key, incident.status.rawValue, incident.severity, formatter.string(from: incident.openedAt),
                        "\(incident.occurrences)x", incident.escalatedAt.map { formatter.string(from: $0) } ?? "-",
                        hooks.isEmpty ? "-" : "\(reached.count)/\(hooks.count)", HistoryCommand.shorten(incident.summary)]
            })
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close an open incident by hand; the escalation hooks get a resolve event.")

        @Argument(help: "The incident key, e.g. cairn/prod/redis/consecutive_failures.")
        var key: String

        @Option(name: .long, help: "Why it was closed (stored with the incident).")
        var note: String?

        @OptionGroup var globals: GlobalOptions

        func run() throws {
            let workspace = try globals.workspace()
            let (incident, notice) = try EscalationService(resources: workspace, logger: workspace.scope.logger).resolve(key: key, note: note)
            workspace.shareState()
            if globals.json { return try Output.json(IncidentView(incident)) }
            Output.line("resolved \(incident.key); hooks notified: \(notice.delivered) of \(notice.hooks)")
        }
    }
}

/// An incident as --json prints it: evidence and deliveries as JSON, not text.
struct IncidentView: Encodable {
    var incident: IncidentRecord

    init(_ incident: IncidentRecord) { self.incident = incident }

    enum CodingKeys: String, CodingKey {
        case key, environment, component, condition, severity, status, summary, evidence, occurrences, resolution, deliveries
        case openedAt = "opened_at", openedRunID = "opened_run_id", lastSeenAt = "last_seen_at", lastRunID = "last_run_id"
        case escalatedAt = "escalated_at", resolvedAt = "resolved_at"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(incident.key, forKey: .key)
        try c.encode(incident.environment, forKey: .environment)
        try c.encode(incident.component, forKey: .component)
        try c.encode(incident.condition, forKey: .condition)
        try c.encode(incident.severity, forKey: .severity)
        try c.encode(incident.status.rawValue, forKey: .status)
        try c.encode(incident.summary, forKey: .summary)
        try c.encode(incident.evidenceValue, forKey: .evidence)
        try c.encode(incident.occurrences, forKey: .occurrences)
        try c.encodeIfPresent(incident.resolution, forKey: .resolution)
        try c.encode(incident.deliveryValues, forKey: .deliveries)
        try c.encode(incident.openedAt, forKey: .openedAt)
        try c.encodeIfPresent(incident.openedRunID, forKey: .openedRunID)
        try c.encode(incident.lastSeenAt, forKey: .lastSeenAt)
        try c.encodeIfPresent(incident.lastRunID, forKey: .lastRunID)
        try c.encodeIfPresent(incident.escalatedAt, forKey: .escalatedAt)
        try c.encodeIfPresent(incident.resolvedAt, forKey: .resolvedAt)
    }
}
