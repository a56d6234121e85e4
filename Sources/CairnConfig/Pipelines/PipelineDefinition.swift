import CairnCore
import CairnHooks
import CairnOperations
/// Hooks attached at one level (run, component or step), by phase.
public struct HookSet: Sendable, Equatable {
    public var before: [HookSpec] = []
    public var after: [HookSpec] = []
    public var onError: [HookSpec] = []
    public var finally: [HookSpec] = []

    public init() {}

    public var isEmpty: Bool { before.isEmpty && after.isEmpty && onError.isEmpty && finally.isEmpty }
    public var all: [HookSpec] { before + after + onError + finally }

    public subscript(phase: HookPhase) -> [HookSpec] {
        switch phase {
        case .before: return before
        case .after: return after
        case .onError: return onError
        case .finally: return finally
        }
    }
}

/// What a step does.
public indirect enum StepAction: Sendable, Equatable {
    /// Disk, memory and load of this machine (the runbook's "Check System Resources").
    case hostCheck
    /// The storage plugin's access check (the runbook's `aws s3 ls` + `sts get-caller-identity`).
    case storageCheck
    /// The component plugin's pre-checks.
    case check(component: String)
    /// Back up a component into a new archive (not yet published as latest).
    case backup(component: String, options: JSONValue)
    /// Read a stored backup back: "new" (this run's), "latest", or a backup id.
    case verify(component: String, backup: String)
    /// Copy this run's verified backup to latest.tar.gz.
    case publish(component: String)
    /// Restore a stored backup into `target` (a folder), into the component's own server when
    /// empty (plugins that restore in place), or into a throwaway server with `drill`.
    case restore(component: String, backup: String, target: String, drill: Bool)
    /// The daily validation: the newest backup of each component (empty: every configured one)
    /// exists, is young enough and has readable metadata.
    case validate(components: [String], allEnvironments: Bool)
    /// The weekly integrity test: every component's latest.tar.gz read back whole, optionally
    /// restored into a throwaway server.
    case integrity(components: [String], restoreDrill: Bool)
    /// Retention: delete the backups the policy no longer keeps.
    case prune(components: [String], dryRun: Bool)
    case hook(HookSpec)
    /// A plugin's native action through libffi; arguments already checked against its signature.
    case action(plugin: String, action: String, arguments: [JSONValue])
    /// Another pipeline's steps, inline; `component` fills its `${component}` (default: the run's),
    /// and the component then gets its own log file.
    case pipeline(String, component: String?)
    /// Steps that run at the same time; the group fails if any member fails with on_error: fail.
    case parallel([PipelineStep])

    /// The step type as written in YAML.
    public var kind: String {
        switch self {
        case .hostCheck: return "host_check"
        case .storageCheck: return "storage_check"
        case .check: return "check"
        case .backup: return "backup"
        case .verify: return "verify"
        case .publish: return "publish"
        case .restore: return "restore"
        case .validate: return "validate"
        case .integrity: return "integrity"
        case .prune: return "prune"
        case .hook: return "hook"
        case .action: return "action"
        case .pipeline: return "pipeline"
        case .parallel: return "parallel"
        }
    }

    /// The component a step works on, if any: component-level hooks and outcomes attach to it.
    public var component: String? {
        switch self {
        case .check(let c), .backup(let c, _), .verify(let c, _), .publish(let c), .restore(let c, _, _, _): return c
        case .pipeline(_, let c): return c
        default: return nil
        }
    }
}

/// One step of a pipeline with its execution policy.
public struct PipelineStep: Sendable, Equatable {
    public enum OnError: String, Sendable, Equatable { case fail, `continue` }

    public var name: String
    public var action: StepAction
    /// Seconds; nil means no limit beyond the hook's own default.
    public var timeout: Double?
    /// Extra attempts after a failure.
    public var retries: Int
    /// Seconds before the first retry; doubled for each further one.
    public var retryDelay: Double
    public var onError: OnError
    public var hooks: HookSet
    public var origin: ValueOrigin

    public init(name: String, action: StepAction, timeout: Double? = nil, retries: Int = 0, retryDelay: Double = 5,
                onError: OnError = .fail, hooks: HookSet = HookSet(), origin: ValueOrigin = .builtIn) {
        self.name = name; self.action = action; self.timeout = timeout; self.retries = retries
        self.retryDelay = retryDelay; self.onError = onError; self.hooks = hooks; self.origin = origin
    }
}

/// A named list of steps: a runbook procedure.
public struct Pipeline: Sendable, Equatable {
    public init(name: String, description: String? = nil, parameters: [String] = [], hooks: HookSet = HookSet(),
                steps: [PipelineStep], origin: ValueOrigin = .builtIn, builtIn: Bool = true) {
        self.name = name; self.description = description; self.parameters = parameters; self.hooks = hooks
        self.steps = steps; self.origin = origin; self.builtIn = builtIn
    }

    public var name: String
    public var description: String?
    /// Names that `cairn run NAME --component X` substitutes for `${component}`.
    public var parameters: [String]
    public var hooks: HookSet
    public var steps: [PipelineStep]
    public var origin: ValueOrigin
    public var builtIn: Bool

    /// Only looks (checks, verification of a stored backup, validation, integrity): nothing in the
    /// store, the sources or elsewhere changes, so it may run when history cannot be kept.
    public var changesNothing: Bool { steps.allSatisfy(\.action.changesNothing) }
}

extension StepAction {
    /// Reads or writes the configured store.
    public var usesStore: Bool {
        switch self {
        case .storageCheck, .backup, .verify, .publish, .restore, .validate, .integrity, .prune: return true
        case .hostCheck, .check, .hook, .action, .pipeline, .parallel: return false
        }
    }

    public var changesNothing: Bool {
        switch self {
        case .hostCheck, .storageCheck, .check, .validate, .integrity: return true
        case .verify(_, let backup): return backup != "new"  // a failed new backup is removed
        case .parallel(let members): return members.allSatisfy(\.action.changesNothing)
        // Even a dry-run prune reads the history: which backups were verified.
        case .backup, .publish, .restore, .prune, .hook, .action, .pipeline: return false
        }
    }
}
