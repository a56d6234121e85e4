import CairnCore
import CairnHooks
import CairnOperations
import Yams
/// Pipelines that ship with Cairn, in the same YAML users write. A pipeline of the same name in
/// cairn.yaml replaces the built-in one.
public enum BuiltInPipelines {
    static let source = "built-in pipelines"

    static let yaml = """
    pipelines:
      backup:
        description: "The runbook's backup of one component: host and component pre-checks, storage access, backup, read-back verification, then latest.tar.gz."
        parameters: [component]
        steps:
          - host_check: {}
          - check: ${component}
          - storage_check: {}
          - backup: ${component}
          - verify: ${component}
          - publish: ${component}
      checks:
        description: "The runbook's pre-backup checks of one component (health, resources, storage access) without backing up."
        parameters: [component]
        steps:
          - host_check: {}
          - check: ${component}
          - storage_check: {}
      check-storage:
        description: "The store's access check alone (the runbook's aws s3 ls and sts get-caller-identity)."
        steps:
          - storage_check: {}
      validate:
        description: "The runbook's daily validation: every component's newest backup exists, is younger than max_age and has readable metadata."
        steps:
          - validate: all
      integrity:
        description: "The runbook's weekly integrity test: every component's latest.tar.gz read back whole (structure, every checksum, the component's validation)."
        steps:
          - integrity: all
      prune:
        description: "Retention: delete the backups the retention policy no longer keeps; latest and the newest verified backup always stay."
        steps:
          - prune: all
    """

    /// Every built-in pipeline; `components` are the configured ones (the emergency backup covers them).
    public static func all(components: [String]) throws -> [Pipeline] {
        try parsed.get() + [emergency(components: components)]
    }

    /// The YAML above, parsed once: every catalog (one per nested pipeline step) needs it.
    private static let parsed = Result { () throws -> [Pipeline] in
        guard let root = try Yams.compose(yaml: yaml), let node = root.mapping?["pipelines"] else {
            throw CairnError.failure("the built-in pipelines do not parse")
        }
        return try PipelineParser(reader: YAMLReader(path: source, builtIn: true)).pipelines(node, builtIn: true)
    }

    /// A command's own run (`cairn verify`, `cairn validate`...): one step, named after the command,
    /// recorded, locked, hooked and escalated like any other pipeline run.
    public static func command(_ name: String, _ action: StepAction, description: String) -> Pipeline {
        Pipeline(name: name, description: description,
                 steps: [PipelineStep(name: PipelineParser.defaultStepName(action), action: action)])
    }

    public static let emergencyName = "emergency"

    /// The runbook's emergency backup: the `backup` pipeline for every configured component at
    /// once, each with its own log. A component that fails does not stop the others; the run is
    /// partial (exit 3) when some succeed. Built from the configuration, so it is not YAML above.
    public static func emergency(components: [String]) -> Pipeline {
        let members = components.map { PipelineStep(name: "backup \($0)", action: .pipeline("backup", component: $0)) }
        return Pipeline(
            name: emergencyName,
            description: "The runbook's emergency backup: the backup pipeline for every configured component in parallel, each with its own log (logs/backup/backup_<component>_YYYYMMDD.log), one summary; exit 0 all, 3 some, 1 none succeeded.",
            parameters: [], hooks: HookSet(),
            steps: [PipelineStep(name: "all components", action: .parallel(members))],
            origin: .builtIn, builtIn: true)
    }
}
