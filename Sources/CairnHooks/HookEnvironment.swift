import CairnCore
import Foundation

/// Builds a hook's environment from scratch, so credentials in the host's environment
/// (AWS_*, REDIS_URL…) reach a hook only when the operator names them in `pass_env`.
enum HookEnvironment {
    /// What a program needs to behave normally; none of these carries a secret.
    static let inherited = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "TMPDIR"]
    /// Used when the host itself has no PATH (some cron setups), so `#!/usr/bin/env` still works.
    static let fallbackPath = "/usr/local/bin:/usr/bin:/bin"

    /// The CAIRN_* variables, all always set (empty when not applicable) so `set -u` scripts work.
    static func cairnVariables(_ context: HookContext) -> [(String, String)] {
        [
            ("CAIRN_HOOK_PHASE", context.phase.rawValue),
            ("CAIRN_PIPELINE", context.pipeline),
            ("CAIRN_RUN_ID", context.runID),
            ("CAIRN_STEP", context.step ?? ""),
            ("CAIRN_COMPONENT", context.component ?? ""),
            ("CAIRN_ENVIRONMENT", context.environment),
            ("CAIRN_BACKUP_ID", context.backupID ?? ""),
            ("CAIRN_STATUS", context.status),
            ("CAIRN_ARTIFACT_URL", context.artifactURL ?? ""),
            ("CAIRN_LOG_FILE", context.logFile ?? ""),
            ("CAIRN_ERROR", context.error ?? ""),
        ]
    }

    /// `NAME=value` entries for the child. CAIRN_* are set last and win, so a `pass_env` entry
    /// cannot spoof them. A `pass_env` name whose variable is unset but whose `NAME_FILE` names a
    /// file (a mounted Kubernetes Secret) gets that file's content (SecretFile), read per run so
    /// a rotated secret is picked up; an unreadable file is an error naming it.
    static func build(context: HookContext, passEnv: [String],
                      lookup: (String) -> String? = HookEnvironment.parentValue) throws -> [String] {
        try build(variables: cairnVariables(context), passEnv: passEnv, lookup: lookup)
    }

    static func build(variables: [(String, String)], passEnv: [String],
                      lookup: (String) -> String? = HookEnvironment.parentValue) throws -> [String] {
        var values: [String: String] = [:]
        var order: [String] = []
        func set(_ name: String, _ value: String) {
            if values.updateValue(value, forKey: name) == nil { order.append(name) }
        }
        for name in inherited { if let value = lookup(name) { set(name, value) } }
        for name in passEnv {
            let fileVariable = SecretFile.variable(for: name)
            guard let path = lookup(fileVariable), !path.isEmpty else {
                if let value = lookup(name) { set(name, value) }
                continue
            }
            if let value = lookup(name), !value.isEmpty {
                throw CairnError.usage("pass_env \(name): both \(name) and \(fileVariable) are set; unset one")
            }
            set(name, try SecretFile.read(path, source: "environment variable \(fileVariable) (for pass_env \(name))"))
        }
        if values["PATH"] == nil { set("PATH", fallbackPath) }
        for (name, value) in variables { set(name, value) }
        return order.map { "\($0)=\(values[$0]!)" }
    }

    static func parentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// A name a shell could export: letters, digits and underscores, not starting with a digit.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }
}
