import CairnCore
import Foundation

/// The JSON document a hook reads on stdin: the CAIRN_* fields plus `event`, `time` and `details`.
enum HookEvent {
    static func json(_ context: HookContext, time: Date = Date()) -> JSONValue {
        func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return .object([
            "event": .string("hook"),
            "time": .string(formatter.string(from: time)),
            "phase": .string(context.phase.rawValue),
            "pipeline": .string(context.pipeline),
            "run_id": .string(context.runID),
            "step": optional(context.step),
            "component": optional(context.component),
            "environment": .string(context.environment),
            "backup_id": optional(context.backupID),
            "status": .string(context.status),
            "artifact_url": optional(context.artifactURL),
            "log_file": optional(context.logFile),
            "error": optional(context.error),
            "details": .object(context.details),
        ])
    }

    /// One line of JSON and a newline, so `read line` works as well as `jq`.
    static func bytes(_ context: HookContext, time: Date = Date()) -> [UInt8] {
        Array((json(context, time: time).jsonText + "\n").utf8)
    }
}
