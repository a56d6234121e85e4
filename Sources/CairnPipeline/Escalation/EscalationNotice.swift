import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
/// What escalation did with one incident: `cairn incidents` and run logs report these.
public struct EscalationNotice: Codable, Sendable, Equatable {
    public var key: String
    /// trigger, escalate or resolve.
    public var action: String
    /// Hooks that took the event / hooks configured.
    public var delivered: Int
    public var hooks: Int
}
