import CairnCore
/// How a child process ended, from its wait status.
enum ProcessTermination: Equatable {
    case exited(Int32)
    case signaled(Int32)
}
