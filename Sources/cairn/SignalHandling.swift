import CairnConfig
import CairnCore
import CairnInterfaces
import CairnOperations
import CairnPipeline
import CairnPluginHost
import CairnState
import Foundation

/// Ctrl-C / SIGTERM ask the running plugin to stop; a second one exits at once.
///
/// A real handler writing to a pipe, not SIG_IGN plus a dispatch source: with SIG_IGN, Linux drops
/// the signal when it reaches a thread that does not block it, so whether it was seen depended on
/// which thread the kernel picked. The main thread also unblocks both signals, because a parent
/// (a test runner, a supervisor) may have started us with them blocked.
enum SignalHandling {
    nonisolated(unsafe) private static var writeEnd: Int32 = -1
    nonisolated(unsafe) private static var installed = false

    static func cancelOnInterrupt(_ cancellation: CairnCore.Cancellation) {
        guard !installed else { return }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        writeEnd = fds[1]
        let readEnd = fds[0]
        // A thread of its own: the dispatch pool can be fully taken by steps that block.
        let listener = Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) > 0 {
                if cancellation.isCancelled { Foundation.exit(130) }
                StandardStreams.err("cairn: stopping after the current chunk (press Ctrl-C again to quit now)\n")
                cancellation.cancel()
            }
        }
        listener.start()
        installed = true

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(SignalHandling.writeEnd, &byte, 1)  // async-signal-safe
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var signals = sigset_t()
        sigemptyset(&signals)
        for signalNumber in [SIGINT, SIGTERM] {
            sigaction(signalNumber, &action, nil)
            sigaddset(&signals, signalNumber)
        }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }
}
