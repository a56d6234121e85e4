import ArgumentParser
import CairnHost
import Foundation
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Read a stored backup back and check its structure, every checksum and the component's own validation.",
        discussion: "Exits 1 when anything fails.")

    @OptionGroup var stored: StoredBackupArguments
    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let report = try VerifyService(workspace: workspace).verify(component: stored.component, selector: try stored.selector())
        if globals.json { try Output.json(report) } else {
            Output.line("\(report.ok ? "verified" : "VERIFICATION FAILED"): \(report.key)\(report.backupID.map { " (\($0))" } ?? "")")
            Output.checks(report.checks)
        }
        if !report.ok { throw ExitRequest(code: .failure) }
    }
}
