import CairnCore
import Foundation

/// Why a hook process could not be started.
struct HookSpawnError: Error {
    enum Stage { case pipes, spawn }
    var stage: Stage
    var code: Int32

    var reason: String { String(cString: strerror(code)) }
}
