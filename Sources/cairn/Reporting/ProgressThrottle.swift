import Foundation

/// Lets through at most one progress report per step every `interval` seconds, plus any report
/// marked final, so a fast stream of byte counts does not flood the output.
final class ProgressThrottle: @unchecked Sendable {
    // @unchecked: `last` is guarded by `lock`.
    private let lock = NSLock()
    private var last: [String: Date] = [:]
    private let interval: TimeInterval

    init(every interval: TimeInterval) { self.interval = interval }

    func due(_ step: String, final: Bool = false) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard final || now.timeIntervalSince(last[step] ?? .distantPast) >= interval else { return false }
        last[step] = now
        return true
    }
}
