import Foundation

/// Writes to stdout and stderr that never crash or stop the run.
///
/// When a reader goes away (`cairn backup x | head -3`), a write fails with EPIPE. Foundation's
/// `FileHandle.write` traps on that, and the default SIGPIPE kills the process: either way a
/// backup would die half-way and be recorded as interrupted. Here a failed stream is dropped and
/// the run goes on; the run log still has every line.
enum StandardStreams {
    nonisolated(unsafe) private static var broken: Set<Int32> = []
    private static let lock = NSLock()

    /// Called once at start: EPIPE becomes an error return instead of a fatal signal. Hooks and
    /// servers Cairn starts get the default disposition back (posix_spawn resets it).
    static func ignoreBrokenPipes() { signal(SIGPIPE, SIG_IGN) }

    static func out(_ text: String) { write(text, to: STDOUT_FILENO) }
    static func err(_ text: String) { write(text, to: STDERR_FILENO) }

    static func write(_ text: String, to descriptor: Int32) {
        lock.lock(); defer { lock.unlock() }
        guard !broken.contains(descriptor) else { return }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written > 0 { bytes = bytes.dropFirst(written); continue }
            if written < 0 && errno == EINTR { continue }
            broken.insert(descriptor)  // EPIPE, EIO, ENOSPC...: stop writing there, keep running
            return
        }
    }
}
