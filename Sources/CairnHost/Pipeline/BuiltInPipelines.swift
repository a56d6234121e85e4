/// Pipelines that ship with Cairn, in the same YAML users write. A pipeline of the same name in
/// cairn.yaml replaces the built-in one.
enum BuiltInPipelines {
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
    """

    static let emergencyName = "emergency"

    /// The runbook's emergency backup: the `backup` pipeline for every configured component at
    /// once, each with its own log. A component that fails does not stop the others; the run is
    /// partial (exit 3) when some succeed. Built from the configuration, so it is not YAML above.
    static func emergency(components: [String]) -> Pipeline {
        let members = components.map { PipelineStep(name: "backup \($0)", action: .pipeline("backup", component: $0)) }
        return Pipeline(
            name: emergencyName,
            description: "The runbook's emergency backup: the backup pipeline for every configured component in parallel, each with its own log (logs/backup/backup_<component>_YYYYMMDD.log), one summary; exit 0 all, 3 some, 1 none succeeded.",
            parameters: [], hooks: HookSet(),
            steps: [PipelineStep(name: "all components", action: .parallel(members))],
            origin: .builtIn, builtIn: true)
    }
}
