import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

extension Workspace {
    /// The state database's path when it exists, or when the store holds state other hosts shared
    /// (a fresh pod: the database is made as its cache). Otherwise prints the empty result (`[]`
    /// with --json, else "<nothing> (no state database at <path>)") and returns nil: reading
    /// history must not create an empty database (and its folders) as a side effect.
    func existingStatePath(json: Bool, nothing: String) throws -> String? {
        let path = try statePath()
        if FileManager.default.fileExists(atPath: path) { return path }
        if let store = try? openStore(scope),
           (try? StateMirror(store: store, environment: environmentName, logger: scope.logger).holdsState()) == true {
            _ = try openState()
            return path
        }
        if json { try Output.json([String]()) } else { Output.line("\(nothing) (no state database at \(path))") }
        return nil
    }
}
