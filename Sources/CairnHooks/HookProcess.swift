import CairnCore
import Foundation

/// A hook's child process: started with posix_spawn in its own process group, with default signal
/// dispositions and an empty signal mask, and pipes for stdin, stdout and stderr.
///
/// Foundation.Process cannot do this: the host ignores SIGINT/SIGTERM and test runners block
/// signals, and both survive exec, so a hook would be immune to the very signals that stop it.
final class HookProcess {
    let pid: pid_t
    /// Parent ends, non-blocking; -1 once closed.
    private(set) var stdinWrite: Int32
    private(set) var stdoutRead: Int32
    private(set) var stderrRead: Int32
    private var exitStatus: ProcessTermination?
    private var reaped = false

    init(executable: String, arguments: [String], environment: [String]) throws(HookSpawnError) {
        var opened: [Int32] = []
        func makePipe() throws(HookSpawnError) -> (read: Int32, write: Int32) {
            guard let pair = GNUExtensions.closeOnExecPipe() else { throw HookSpawnError(stage: .pipes, code: errno) }
            // Keep them above 2 so the dup2 onto 0/1/2 below can never clobber one another
            // (the host may run with a closed stdin).
            let moved = (read: Self.aboveStandardDescriptors(pair.read), write: Self.aboveStandardDescriptors(pair.write))
            opened += [moved.read, moved.write]
            return moved
        }
        func closeAll() { for fd in opened { _ = Glibc.close(fd) } }

        let input: (read: Int32, write: Int32), output: (read: Int32, write: Int32), errors: (read: Int32, write: Int32)
        do {
            input = try makePipe(); output = try makePipe(); errors = try makePipe()
        } catch {
            closeAll()
            throw error
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        GNUExtensions.addCloseFrom(&actions, lowest: 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t(), noSignals = sigset_t()
        sigfillset(&allSignals)
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        // Process group = the child's pid, so a timeout can signal the hook and everything it started.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        var childPID: pid_t = 0
        var result: Int32 = 0
        // ETXTBSY: a process forked elsewhere still holds the script open for writing from its
        // last edit (or deployment). That lasts until that child execs, so a short wait is enough.
        for attempt in 0 ..< 20 {
            if attempt > 0 { usleep(25_000) }
            result = Self.withCStrings([executable] + arguments) { argv in
                Self.withCStrings(environment) { envp in
                    posix_spawn(&childPID, executable, &actions, &attributes, argv, envp)
                }
            }
            if result != ETXTBSY { break }
        }
        // The child's ends belong to the child now; holding them would hide its EOF.
        for fd in [input.read, output.write, errors.write] { _ = Glibc.close(fd) }
        guard result == 0 else {
            for fd in [input.write, output.read, errors.read] { _ = Glibc.close(fd) }
            throw HookSpawnError(stage: .spawn, code: result)
        }
        pid = childPID
        stdinWrite = input.write; stdoutRead = output.read; stderrRead = errors.read
        for fd in [stdinWrite, stdoutRead, stderrRead] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        closeStdin(); closeStdout(); closeStderr()
        // Never leave a running hook or a zombie behind, whatever path led here.
        if !reaped {
            if checkExit() == nil { signalGroup(SIGKILL) }
            _ = reap()
        }
    }

    func closeStdin() { if stdinWrite >= 0 { _ = Glibc.close(stdinWrite); stdinWrite = -1 } }
    func closeStdout() { if stdoutRead >= 0 { _ = Glibc.close(stdoutRead); stdoutRead = -1 } }
    func closeStderr() { if stderrRead >= 0 { _ = Glibc.close(stderrRead); stderrRead = -1 } }

    /// The exit status once the hook has ended, without reaping it: while it is an unreaped
    /// zombie its pid, which is also its process group id, cannot be reused, so signalling the
    /// group stays safe.
    func checkExit() -> ProcessTermination? {
        if let exitStatus { return exitStatus }
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0,
              info._sifields._sigchld.si_pid == pid else { return nil }
        let status = info._sifields._sigchld.si_status
        exitStatus = info.si_code == CLD_EXITED ? .exited(status) : .signaled(status)
        return exitStatus
    }

    /// Signals the hook's whole process group (grandchildren too).
    func signalGroup(_ signal: Int32) {
        guard !reaped else { return }
        _ = kill(-pid, signal)
    }

    /// Waits for the hook to end and releases its pid.
    func reap() -> ProcessTermination {
        if !reaped {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            reaped = true
            if exitStatus == nil {
                // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
                exitStatus = status & 0x7F == 0 ? .exited((status >> 8) & 0xFF) : .signaled(status & 0x7F)
            }
        }
        return exitStatus!
    }

    private static func aboveStandardDescriptors(_ fd: Int32) -> Int32 {
        guard fd <= 2 else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
        guard moved >= 0 else { return fd }
        _ = Glibc.close(fd)
        return moved
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
