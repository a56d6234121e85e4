import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState

/// The component and `--backup ID|latest` that verify and restore work on.
struct StoredBackupArguments: ParsableArguments {
    @Argument(help: "Component instance.")
    var component: String

    @Option(help: "Backup id (see cairn list), or 'latest'.")
    var backup = "latest"

    func selector() throws -> BackupSelector { try BackupSelector(backup) }
}
