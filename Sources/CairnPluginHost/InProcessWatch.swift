import CairnCore
import Foundation
import Logging

/// Calls into plugins loaded in process (isolation: in-process), watched for one thing: a plugin
/// that goes on after being cancelled. Nothing can stop it short of ending cairn, so the run log
/// says which plugin the host is waiting on, and what would have let it be stopped.
final class InProcessWatch: @unchecked Sendable {
    // @unchecked: `calls` and `watching` are guarded by `lock`.
    static let shared = InProcessWatch()

    private struct Call {
        let context: PluginContext
        let operation: String
        let grace: Double
        var cancelledAt: Date?
        var told = false
    }

    private let lock = NSLock()
    private var calls: [Int: Call] = [:]
    private var nextID = 0
    private var watching = false

    /// Runs `body`, a call into an in-process plugin, under watch.
    func watch<R>(_ context: PluginContext, _ operation: String, grace: Double, _ body: () throws -> R) rethrows -> R {
        lock.lock()
        let id = nextID
        nextID += 1
        calls[id] = Call(context: context, operation: operation, grace: grace)
        if !watching {
            watching = true
            Thread.detachNewThread { [self] in loop() }
        }
        lock.unlock()
        defer { lock.lock(); calls[id] = nil; lock.unlock() }
        return try body()
    }

    private func loop() {
        while true {
            Thread.sleep(forTimeInterval: 0.5)
            lock.lock()
            let now = Date()
            for (id, var call) in calls where call.context.cancellation.isCancelled && !call.told {
                let since = call.cancelledAt ?? now
                call.cancelledAt = since
                if now.timeIntervalSince(since) >= call.grace {
                    call.told = true
                    call.context.logger.warning(
                        "waiting on plugin \(call.context.label) (\(call.operation)): it has not stopped \(formatSeconds(call.grace)) after being cancelled, and it runs inside cairn (isolation: in-process), where it cannot be stopped; with isolation: process its worker would be killed",
                        metadata: ["plugin": .string(call.context.label)])
                }
                calls[id] = call
            }
            lock.unlock()
        }
    }
}
