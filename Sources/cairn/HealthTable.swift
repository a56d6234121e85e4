import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// The table `cairn validate` and `cairn integrity` print, and their exit code.
enum HealthTable {
    /// Prints the table (or JSON), then exits 1 when any component failed.
    static func print(_ report: HealthReport, json: Bool) throws {
        if json { try Output.json(report) } else {
            Output.table(["COMPONENT", "ENVIRONMENT", "STATUS", "BACKUP", "AGE", "PROBLEM"], report.results.map {
                [$0.component, $0.environment, $0.status == .ok ? "ok" : $0.status == .warning ? "warning" : "FAILED",
                 $0.backupID ?? "-", $0.ageSeconds.map(formatAge) ?? "-", $0.problem?.rawValue ?? "-"]
            })
            for result in report.results where !result.evidence.isEmpty {
                Output.line("\(result.component)/\(result.environment): \(result.evidence)")
            }
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }
}
