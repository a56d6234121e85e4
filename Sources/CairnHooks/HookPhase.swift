import CairnCore
/// When a hook runs relative to the work it surrounds (docs/hooks.md).
public enum HookPhase: String, Codable, Sendable, CaseIterable {
    case before
    case after
    case onError = "on_error"
    /// Runs whatever happened, including after Ctrl-C, so cleanup is never skipped.
    case finally
}
