import CairnCore
/// One configured hook: an executable run with argv, never through a shell.
public struct HookSpec: Sendable, Equatable {
    /// As configured; relative paths are looked up in the runner's search folders.
    public var path: String
    public var args: [String]
    /// Seconds before the hook's process group is terminated.
    public var timeout: Double
    /// Names of parent environment variables the hook may see; nothing else leaks through.
    public var passEnv: [String]
    /// Where it was configured, so refusals can point at the line to fix.
    public var origin: ValueOrigin

    public static let defaultTimeout: Double = 300

    public init(path: String, args: [String] = [], timeout: Double = HookSpec.defaultTimeout,
                passEnv: [String] = [], origin: ValueOrigin = .builtIn) {
        self.path = path; self.args = args; self.timeout = timeout; self.passEnv = passEnv; self.origin = origin
    }
}
