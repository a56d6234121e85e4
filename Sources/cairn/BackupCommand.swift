import ArgumentParser
import CairnHost
import Foundation

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up one component: pre-checks, backup, verification, then latest.tar.gz.",
        discussion: """
        The archive lands at <component>/<environment>/<backup_id>.tar.gz in the store; latest.tar.gz \
        is replaced only after the new archive was read back and every checksum matched. A failed \
        backup leaves the previous latest.tar.gz untouched and removes its own partial archive.
        """)

    @Argument(help: "Component instance from cairn.yaml (or a component plugin name, configured from the environment).")
    var component: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let summary = try BackupService(workspace: workspace).run(component: component)
        if globals.json { return try Output.json(summary) }
        Output.line("backup \(summary.backupID) of \(summary.component) (\(summary.environment)) complete")
        Output.line("  stored:   \(summary.store) \(summary.key)")
        Output.line("  latest:   \(summary.latestKey)")
        let rate = summary.seconds > 0 ? Double(summary.bytes) / summary.seconds : 0
        Output.line("  files:    \(summary.files), \(Output.bytes(summary.bytes)) -> \(Output.bytes(summary.compressedBytes)) compressed")
        Output.line("  took:     \(String(format: "%.2f", summary.seconds)) s (\(Output.bytes(Int64(rate)))/s)")
        Output.checks(summary.checks)
    }
}

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

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a stored backup of a component to a target.",
        discussion: "The whole archive is verified before anything is written to the target.")

    @OptionGroup var stored: StoredBackupArguments

    @Option(help: "Where to restore; for directory components a new or empty folder.")
    var target: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let summary = try RestoreService(workspace: workspace).restore(component: stored.component, selector: try stored.selector(), target: target)
        if globals.json { return try Output.json(summary) }
        Output.line("restored \(summary.backupID) to \(summary.target): \(summary.files) files, \(Output.bytes(summary.bytes))")
        Output.checks(summary.checks)
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the stored backups of a component in the current environment.")

    @Argument(help: "Component instance.")
    var component: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        let listings = try CatalogService(workspace: workspace).list(component: component)
        if globals.json { return try Output.json(listings) }
        if listings.isEmpty {
            Output.line("no backups of \(component) in \(workspace.environmentName) (\(workspace.storeDescription()))")
            return
        }
        let formatter = ISO8601DateFormatter()
        Output.table(["BACKUP ID", "CREATED (UTC)", "SIZE", "VERIFIED", "LATEST"], listings.map {
            [$0.backupID, formatter.string(from: $0.modified), Output.bytes($0.size),
             $0.verified.map { $0 ? "yes" : "no" } ?? "-", $0.isLatest ? "latest" : ""]
        })
    }
}

/// The component and `--backup ID|latest` that verify and restore work on.
struct StoredBackupArguments: ParsableArguments {
    @Argument(help: "Component instance.")
    var component: String

    @Option(help: "Backup id (see cairn list), or 'latest'.")
    var backup = "latest"

    func selector() throws -> BackupSelector { try BackupSelector(backup) }
}
