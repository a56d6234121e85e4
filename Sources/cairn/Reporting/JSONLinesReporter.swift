import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// `--json` on pipeline commands: one JSON object per line on stdout (progress events, step
/// results, one summary), so programs can follow a run as it happens. With `--log-format json`
/// the same events go to stderr among the log objects.
final class JSONLinesReporter: RunReporter, Sendable {
    private let throttle = ProgressThrottle(every: 0.5)
    private let descriptor: Int32

    init(to descriptor: Int32 = STDOUT_FILENO) { self.descriptor = descriptor }

    static func emit(_ object: [String: JSONValue], to descriptor: Int32 = STDOUT_FILENO) {
        var fields = object
        fields["time"] = .string(ISO8601DateFormatter().string(from: Date()))
        StandardStreams.write(JSONValue.object(fields).jsonText + "\n", to: descriptor)
    }

    private func emit(_ object: [String: JSONValue]) { Self.emit(object, to: descriptor) }

    static func encodeValue<T: Encodable>(_ value: T) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return (try? encoder.encode(value)).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0) } ?? .null
    }

    func runStarted(runID: String, pipeline: String, logFile: String?) {
        var fields: [String: JSONValue] = ["type": .string("run"), "status": .string("started"), "run_id": .string(runID),
                                           "pipeline": .string(pipeline)]
        fields["log_file"] = logFile.map(JSONValue.string)
        emit(fields)
    }

    func stepStarted(_ name: String) {
        emit(["type": .string("step"), "status": .string("started"), "step": .string(name)])
    }

    func stepProgress(_ name: String, done: UInt64, total: UInt64) {
        guard throttle.due(name, final: total > 0 && done >= total) else { return }
        emit(["type": .string("progress"), "step": .string(name), "done_bytes": .number(Double(done)),
                   "total_bytes": .number(Double(total))])
    }

    func stepFinished(_ step: StepSummary) {
        var object: [String: JSONValue] = ["type": .string("step"), "status": .string(step.outcome.rawValue)]
        if case .object(let fields) = Self.encodeValue(step) { object.merge(fields) { current, _ in current } }
        object["step"] = .string(step.name)
        emit(object)
    }

    func runFinished(_ summary: RunSummary) {
        var object: [String: JSONValue] = ["type": .string("summary")]
        if case .object(let fields) = Self.encodeValue(summary) { object.merge(fields) { current, _ in current } }
        emit(object)
    }
}
