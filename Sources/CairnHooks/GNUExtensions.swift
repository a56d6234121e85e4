import CairnCore
import Foundation

/// glibc functions that Swift's Glibc module does not import (they sit behind _GNU_SOURCE),
/// looked up at run time so an older libc just loses the extra hygiene.
enum GNUExtensions {
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name)   // RTLD_DEFAULT
    }

    /// pipe2(O_CLOEXEC) when available: no window in which another thread's fork could inherit
    /// the descriptors (a stray copy of a hook's stdin write end would keep it waiting for EOF).
    static func closeOnExecPipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        if let pointer = symbol("pipe2") {
            let pipe2 = unsafeBitCast(pointer, to: Pipe2.self)
            guard pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
        } else {
            guard pipe(&fds) == 0 else { return nil }
            _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }

    /// Closes every descriptor from `lowest` up in the child (glibc 2.34+), so hooks never see
    /// the host's database, sockets or plugin descriptors that lack O_CLOEXEC.
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, lowest: Int32) {
        guard let pointer = symbol("posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(pointer, to: AddCloseFrom.self)(&actions, lowest)
    }
}
