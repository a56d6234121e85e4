import CairnCore
import Foundation

/// Supervises one running hook on the calling thread: feeds the event to stdin, relays stdout and
/// stderr line by line (both pipes at once, so a chatty hook never blocks on a full pipe), and
/// ends it at the deadline or on cancellation: SIGTERM to the process group, then SIGKILL once
/// the hook has exited or the grace period is over.
struct HookExecution {
    enum StopReason { case timedOut, cancelled }

    var timeout: Double
    var terminationGrace: Double
    /// How long to keep reading after the hook exits, for output still in flight from processes
    /// it left in the background (which may hold the pipes open indefinitely).
    var drainTime: Double
    /// nil for `finally` hooks, which cancellation must not cut short.
    var cancellation: Cancellation?
    var output: (_ line: String, _ isError: Bool) -> Void

    func supervise(_ process: HookProcess, input: [UInt8]) -> (termination: ProcessTermination, stop: StopReason?) {
        // A hook that exits without reading stdin would raise SIGPIPE in the host; block it on
        // this thread and consume it instead (the child's mask is set by posix_spawn).
        var pipeSignal = sigset_t(), savedMask = sigset_t()
        sigemptyset(&pipeSignal); sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &savedMask)
        var brokenPipe = false
        defer {
            if brokenPipe { var now = timespec(); _ = sigtimedwait(&pipeSignal, nil, &now) }
            pthread_sigmask(SIG_SETMASK, &savedMask, nil)
        }

        let start = Self.now()
        var stop: StopReason?
        var termSentAt = 0.0, killSent = false
        var exitedAt: Double?
        var written = 0
        var stdoutLines = OutputLineSplitter(), stderrLines = OutputLineSplitter()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }

        if input.isEmpty { process.closeStdin() }
        while true {
            let now = Self.now()
            if exitedAt == nil, process.checkExit() != nil { exitedAt = now }
            if let exitedAt {
                // Whatever ignored SIGTERM goes now that the hook itself is gone.
                if stop != nil && !killSent { process.signalGroup(SIGKILL); killSent = true }
                process.closeStdin()
                if (process.stdoutRead < 0 && process.stderrRead < 0) || now >= exitedAt + drainTime { break }
            } else if stop == nil {
                if now >= start + timeout { stop = .timedOut }
                else if cancellation?.isCancelled == true { stop = .cancelled }
                if stop != nil { process.signalGroup(SIGTERM); termSentAt = now }
            } else if !killSent && now >= termSentAt + terminationGrace {
                process.signalGroup(SIGKILL); killSent = true
            }

            var fds: [pollfd] = []
            if process.stdinWrite >= 0 { fds.append(pollfd(fd: process.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            if process.stdoutRead >= 0 { fds.append(pollfd(fd: process.stdoutRead, events: Int16(POLLIN), revents: 0)) }
            if process.stderrRead >= 0 { fds.append(pollfd(fd: process.stderrRead, events: Int16(POLLIN), revents: 0)) }
            // Short waits: exit, deadline and cancellation are checked between polls.
            _ = poll(&fds, nfds_t(fds.count), 20)

            for entry in fds where entry.revents != 0 {
                if entry.fd == process.stdinWrite {
                    let n = input.withUnsafeBytes { Glibc.write(entry.fd, $0.baseAddress! + written, input.count - written) }
                    let failure = n < 0 ? errno : 0
                    if n > 0 { written += n }
                    if failure == EPIPE { brokenPipe = true }
                    // Done, or the hook closed its stdin: either way it sees EOF or needs nothing more.
                    if written == input.count || (n < 0 && failure != EAGAIN && failure != EINTR) { process.closeStdin() }
                } else {
                    let isError = entry.fd == process.stderrRead
                    let n = Glibc.read(entry.fd, buffer.baseAddress, buffer.count)
                    let failure = n < 0 ? errno : 0
                    if n > 0 {
                        let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                        if isError { stderrLines.append(chunk) { output($0, true) } }
                        else { stdoutLines.append(chunk) { output($0, false) } }
                    } else if n == 0 || (failure != EAGAIN && failure != EINTR) {
                        if isError { process.closeStderr() } else { process.closeStdout() }
                    }
                }
            }
        }
        stdoutLines.finish { output($0, false) }
        stderrLines.finish { output($0, true) }
        process.closeStdout(); process.closeStderr()
        return (process.reap(), stop)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
