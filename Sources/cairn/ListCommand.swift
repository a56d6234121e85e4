import ArgumentParser
import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the stored backups of a component in the current environment.")

    @Argument(help: "Component instance.")
    var component: String

    @OptionGroup var globals: GlobalOptions

    func run() throws {
        let workspace = try globals.workspace()
        try workspace.requireComponent(component)  // no settings needed to read what the store holds
        let listings = try CatalogService(store: try workspace.openStore(workspace.scope), state: try? workspace.openState(),
                                          environment: workspace.environmentName).list(component: component)
        if globals.json { return try Output.json(listings) }
        if listings.isEmpty {
            Output.line("no backups of \(component) in \(workspace.environmentName) (\(workspace.storeDescription))")
            return
        }
        let formatter = ISO8601DateFormatter()
        Output.table(["BACKUP ID", "CREATED (UTC)", "SIZE", "VERIFIED", "LATEST"], listings.map {
            [$0.backupID, formatter.string(from: $0.created), Output.bytes($0.size),
             $0.verified.map { $0 ? "yes" : "no" } ?? "-", $0.isLatest ? "latest" : ""]
        })
    }
}
