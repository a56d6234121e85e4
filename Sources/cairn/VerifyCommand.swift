import ArgumentParser
import CairnHost
import Foundation
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read a stored backup back and check its structure, every checksum and the component's own validation.",
        discussion: "Exits 1 when anything fails. A damaged archive opens the corruption_detected incident of the component (docs/escalation.md); a clean one resolves it.")

    @OptionGroup var stored: StoredBackupArguments
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let selector = try stored.selector()
        // A damaged archive opens corruption_detected for the component; a clean one resolves it.
        let report = try EscalationService(workspace: workspace).checked(origin: "cairn verify", {
            try VerifyService(workspace: workspace).verify(component: stored.component, selector: selector)
        }, findings: { ConditionFindings.verification(component: stored.component, backup: stored.backup, failures: $0.checks.failures) })
        if globals.json { try Output.json(report) } else {
            Output.line("\(report.ok ? "verified" : "VERIFICATION FAILED"): \(report.key)\(report.backupID.map { " (\($0))" } ?? "")")
            Output.checks(report.checks)
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }
}
