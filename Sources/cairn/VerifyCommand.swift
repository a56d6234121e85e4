import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
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
        _ = try stored.selector()
        let pipeline = BuiltInPipelines.command("verify", .verify(component: stored.component, backup: stored.backup),
                                                description: "Read a stored backup back and check it whole.")
        let report = try PipelineExecution.result(of: try PipelineExecution.runCommand(pipeline, component: stored.component, workspace: workspace), as: VerificationReport.self)
        if globals.json { try Output.json(report) } else {
            Output.line("\(report.ok ? "verified" : "VERIFICATION FAILED"): \(report.key)\(report.backupID.map { " (\($0))" } ?? "")")
            Output.checks(report.checks)
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }
}
