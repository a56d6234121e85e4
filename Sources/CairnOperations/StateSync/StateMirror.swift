import CairnCore
import CairnInterfaces
import CairnState
import Foundation
import Logging

/// The state every host must share, kept in the store beside the backups, so that a new pod (or
/// another host) sees the same history, failure counts and incidents: under
/// `cairn/<environment>/`, `runs/<run_id>.json` (written once, by the run's own process),
/// `streaks/<component>.json` and `incidents/<subject>--<condition>.json` (replaced with a
/// conditional write of the version this process read). The local SQLite file is a cache: a
/// command pulls what the store has when it opens the state, and pushes what it changed when it ends.
public final class StateMirror: @unchecked Sendable {
    // @unchecked: `seen` and `unsupported` are guarded by `lock`.
    let store: any ObjectStore
    let environment: String
    let logger: Logger
    private let lock = NSLock()
    /// Each shared object as this process read or last wrote it: its etag and bytes.
    private var seen: [String: (etag: String?, body: Data)] = [:]
    private var storedRuns: Set<String> = []
    /// Shared runs older than the newest `runsKept`, oldest first: removed a few at a time by
    /// processes that share a run of their own (and so may write), so the listing stays short.
    private var staleRunKeys: [String] = []
    let runsKept: Int

    /// Component names may not be `cairn`: the prefix is the state's.
    public static let reservedName = "cairn"

    public init(store: any ObjectStore, environment: String, logger: Logger, runsKept: Int = 500) {
        self.store = store; self.environment = environment; self.logger = logger; self.runsKept = runsKept
    }

    var prefix: String { "\(Self.reservedName)/\(environment)/" }

    /// Whether any host has shared state for this environment yet.
    public func holdsState() throws -> Bool { try !store.list(prefix: prefix).isEmpty }

    /// How many stale shared runs one push removes at most: the first run after an upgrade does
    /// not pay for years of records at once.
    static let staleRunsRemovedPerPush = 50

    /// Takes into `state` what other hosts recorded: the newest runs it lacks, and every streak and incident.
    public func pull(into state: StateStore) throws {
        let objects = try store.list(prefix: prefix)
        // Run ids start with their UTC start time, so key order is age order.
        let runKeys = objects.map(\.key).filter { $0.hasPrefix(prefix + "runs/") }.sorted()
        let stale = Array(runKeys.dropLast(runsKept))
        lock.withLock { staleRunKeys = stale }
        let newestSkipped = stale.last
        for object in objects {
            let name = object.key.dropFirst(prefix.count)
            if name.hasPrefix("runs/"), name.hasSuffix(".json") {
                if let newestSkipped, object.key <= newestSkipped { continue }
                let runID = String(name.dropFirst(5).dropLast(5))
                lock.withLock { _ = storedRuns.insert(runID) }
                guard try !state.hasRun(runID) else { continue }
                let document = try Self.decoder.decode(RunDocument.self, from: try read(object.key))
                try state.importRun(document.run, steps: document.steps)
            } else if name.hasPrefix("streaks/") {
                try state.replaceStreak(try Self.decoder.decode(FailureStreak.self, from: try readVersioned(object.key)))
            } else if name.hasPrefix("incidents/") {
                try state.replaceIncident(try Self.decoder.decode(IncidentRecord.self, from: try readVersioned(object.key)))
            }
        }
    }

    /// Shares what this process changed: its finished runs, and every streak and incident that
    /// differs from what it read. One another host changed meanwhile keeps the other host's copy.
    public func push(from state: StateStore) throws {
        for streak in try state.streaks(environment: environment) {
            try share("\(prefix)streaks/\(streak.component).json", try Self.encoder.encode(streak))
        }
        // The newest incident of each key: the open one, or the last resolved.
        var newest: [String: IncidentRecord] = [:]
        for incident in try state.incidents(includeResolved: true, environment: environment, limit: 10_000) where newest[incident.key] == nil {
            newest[incident.key] = incident
        }
        for incident in newest.values {
            var shared = incident
            shared.id = nil  // this file's row id means nothing elsewhere
            let name = "\(incident.component)--\(incident.condition)"
            try share("\(prefix)incidents/\(name).json", try Self.encoder.encode(shared))
        }
        let host = LocalProcess.hostname, pid = LocalProcess.pid
        var shared = false
        for run in try state.runs(limit: 50) where run.environment == environment && run.hostname == host && run.pid == pid
            && run.outcome != .running && !lock.withLock({ storedRuns.contains(run.runID) }) {
            let document = RunDocument(run: run, steps: try state.steps(runID: run.runID))
            let writer = try store.openWriter(key: "\(prefix)runs/\(run.runID).json")
            try Self.encoder.encode(document).withUnsafeBytes { try writer.write($0) }
            try writer.commit()
            lock.withLock { _ = storedRuns.insert(run.runID) }
            shared = true
        }
        if shared { removeStaleRuns() }
    }

    /// Runs are history, written once: any host may remove old ones. A failure only delays it.
    private func removeStaleRuns() {
        let batch = lock.withLock { () -> [String] in
            let batch = Array(staleRunKeys.prefix(Self.staleRunsRemovedPerPush))
            staleRunKeys.removeFirst(batch.count)
            return batch
        }
        for key in batch {
            do { try store.remove(key: key) } catch {
                logger.warning("shared state: cannot remove the old run record \(key): \(describe(error)); a later run tries again")
                return
            }
        }
    }

    private func share(_ key: String, _ body: Data) throws {
        let previous = lock.withLock { seen[key] }
        if previous?.body == body { return }
        if let written = try store.putIf(key: key, data: Array(body), ifVersion: previous?.etag) {
            remember(key, etag: written.etag, body: body)
        } else {
            logger.warning("shared state: \(key) was changed by another host since this one read it; the other host's copy stands")
        }
    }

    private func remember(_ key: String, etag: String?, body: Data) { lock.withLock { seen[key] = (etag, body) } }

    /// The object's bytes, remembered with the etag it had (listings need not carry etags): what a
    /// later conditional write replaces. Changed in between, that write finds out and keeps theirs.
    private func readVersioned(_ key: String) throws -> Data {
        let etag = try store.stat(key: key)?.etag
        let body = try read(key)
        remember(key, etag: etag, body: body)
        return body
    }

    private func read(_ key: String) throws -> Data { try store.readSmall(key: key) }

    struct RunDocument: Codable {
        var run: RunRecord
        var steps: [StepRecord]
    }

    // Milliseconds: what the database keeps, so a record read back equals the one written.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}
