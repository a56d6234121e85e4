@testable import CairnOperations
import CairnCore
import CairnInterfaces
import CairnState
import CairnTestSupport
import Foundation
import Logging
import Testing

/// The shared run records in the store stay bounded: a host that shares a run of its own removes
/// the oldest beyond the newest `runsKept`, a batch at a time, and never a newer one.
struct StateMirrorTests {
    let store = MemoryStore()
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    let prefix = "cairn/prod/runs/"

    /// A finished run of another host, shared as that host would have shared it.
    func shareForeignRun(_ index: Int) throws {
        let started = Date(timeIntervalSince1970: 1_700_000_000 + Double(index) * 60)
        let id = "2023\(String(format: "%06d", index))-other"
        let run = RunRecord(runID: id, pipeline: "backup", environment: "prod", component: "configs", startedAt: started,
                            finishedAt: started.addingTimeInterval(5), outcome: .success, pid: 1, hostname: "elsewhere")
        let body = try StateMirror.encoder.encode(StateMirror.RunDocument(run: run, steps: []))
        try store.putIf(key: "\(prefix)\(id).json", data: Array(body), ifVersion: nil)
    }

    func sharedRuns() throws -> [String] { try store.list(prefix: prefix).map(\.key).sorted() }

    @Test func aHostSharingItsRunRemovesTheOldestBeyondTheKeptOnes() throws {
        for index in 0..<8 { try shareForeignRun(index) }
        let before = try sharedRuns()
        let temp = try TemporaryDirectory()
        let state = try StateStore(path: temp.path("state.sqlite").path)
        let mirror = StateMirror(store: store, environment: "prod", logger: logger, runsKept: 5)
        try mirror.pull(into: state)
        #expect(try state.runs(limit: 100).count == 5, "only the newest five are taken in")

        // Pushing without a run of its own removes nothing (this process may not be allowed to).
        try mirror.push(from: state)
        #expect(try sharedRuns() == before)

        let run = try state.beginRun(pipeline: "backup", environment: "prod", component: "configs", logFile: nil)
        try state.finishRun(run.runID, outcome: .success, error: nil)
        try mirror.push(from: state)
        let after = try sharedRuns()
        #expect(after == Array(before.suffix(5)) + ["\(prefix)\(run.runID).json"], "\(after)")
    }
}
