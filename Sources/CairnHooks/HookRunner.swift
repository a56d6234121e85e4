import CairnCore
import Foundation

/// Runs hooks: executables given a JSON event on stdin and CAIRN_* variables, in their own
/// process group, with a timeout (docs/hooks.md has the whole contract).
public struct HookRunner: Sendable {
    /// In order: the config file's folder, `hooks_dirs`, the bundled `hooks/` folder.
    public var searchDirectories: [URL]
    /// Between SIGTERM and SIGKILL on timeout or cancellation.
    var terminationGrace: Double = 5
    /// Output still read after the hook exits (see HookExecution.drainTime).
    var drainTime: Double = 0.25

    public init(searchDirectories: [URL]) {
        self.searchDirectories = searchDirectories
    }

    /// Resolves and checks the hook (missing, not executable, unsafe permissions) without running it.
    /// Throws CairnError.usage with a specific message; used at pipeline load time.
    public func resolve(_ spec: HookSpec) throws -> URL {
        try HookLocator(searchDirectories: searchDirectories).resolve(spec)
    }

    /// Runs the hook, blocking the calling thread until it ends; `output` gets each line of its
    /// stdout (`isError` false) and stderr (true) as it arrives, on this thread.
    /// Throws only for refusals (as `resolve`) and when the host cannot create pipes; every
    /// outcome of the process itself, including a failed exec, is a HookResult.
    public func run(_ spec: HookSpec, context: HookContext, cancellation: Cancellation,
                    output: @escaping @Sendable (_ line: String, _ isError: Bool) -> Void) throws -> HookResult {
        try run(spec, input: HookEvent.bytes(context), variables: HookEnvironment.cairnVariables(context),
                cancellation: context.phase != .finally ? cancellation : nil, output: output)
    }

    /// Runs the hook with any event (`input`, fed to stdin) and CAIRN_* `variables`; nil
    /// `cancellation` means nothing but the timeout stops it. Escalation hooks use this directly.
    public func run(_ spec: HookSpec, input: [UInt8], variables: [(String, String)], cancellation: Cancellation?,
             output: @escaping @Sendable (_ line: String, _ isError: Bool) -> Void) throws -> HookResult {
        let path = try resolve(spec).path
        let start = HookExecution.now()
        /// `what` reads on with "after 0.2 s", then `then` if given.
        func result(_ status: HookResult.Status, _ what: String, then: String = "") -> HookResult {
            let seconds = HookExecution.now() - start
            return HookResult(status: status, seconds: seconds, resolvedPath: path,
                              message: "hook \(path) \(what) after \(String(format: "%.1f", seconds)) s\(then)")
        }
        if cancellation?.isCancelled == true {
            return HookResult(status: .cancelled, seconds: 0, resolvedPath: path,
                              message: "hook \(path) was not started: the run is being cancelled")
        }

        let environment: [String]
        do { environment = try HookEnvironment.build(variables: variables, passEnv: spec.passEnv) } catch {
            return result(.failed(exitCode: 127), "failed", then: ": was not started: \(describe(error))")
        }
        let process: HookProcess
        do {
            process = try HookProcess(executable: path, arguments: spec.args, environment: environment)
        } catch {
            if error.stage == .pipes { throw CairnError.failure("cannot start hook \(path): \(error.reason)") }
            // 127 is what a shell reports for a command it could not run.
            let hint = error.code == ENOEXEC || error.code == ENOENT ? " (check its #! line)" : ""
            return result(.failed(exitCode: 127), "failed", then: ": could not be started: \(error.reason)\(hint)")
        }

        let execution = HookExecution(timeout: spec.timeout, terminationGrace: terminationGrace, drainTime: drainTime,
                                      cancellation: cancellation, output: output)
        let (termination, stop) = execution.supervise(process, input: input)
        switch (stop, termination) {
        case (.timedOut?, _):
            return result(.timedOut, "timed out", then: " (limit \(Self.seconds(spec.timeout)) s); its process group was killed")
        case (.cancelled?, _):
            return result(.cancelled, "was stopped (run cancelled)")
        case (nil, .exited(0)):
            return result(.ok, "succeeded")
        case (nil, .exited(75)):
            return result(.skip, "asked to skip (exit 75)")
        case (nil, .exited(let code)):
            return result(.failed(exitCode: code), "exited \(code)")
        case (nil, .signaled(let signal)):
            return result(.killedBySignal(signal), "was killed by \(SignalNames.describe(signal))")
        }
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }
}
