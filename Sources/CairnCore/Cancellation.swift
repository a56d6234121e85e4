import Synchronization

/// Set when the operator presses Ctrl-C, a step's deadline passes, or a parent is cancelled;
/// plugins and hooks poll it.
public final class Cancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    private let parent: Cancellation?

    public init(parent: Cancellation? = nil) { self.parent = parent }
    public func cancel() { flag.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { flag.load(ordering: .relaxed) || (parent?.isCancelled ?? false) }
}
