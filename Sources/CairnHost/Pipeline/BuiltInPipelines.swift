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
}
