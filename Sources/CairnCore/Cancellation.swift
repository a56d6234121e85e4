import Synchronization

/// Set when the operator presses Ctrl-C, a step's deadline passes, or a parent is cancelled;
/// plugins and hooks poll it, and whoever blocks can ask to be woken (`onCancel`).
public final class Cancellation: Sendable {
    private let flag = Atomic<Bool>(false)
    private let parent: Cancellation?
    private let handlers = Mutex<[UInt64: @Sendable () -> Void]>([:])
    private let nextID = Atomic<UInt64>(0)

    public init(parent: Cancellation? = nil) { self.parent = parent }

    public func cancel() {
        flag.store(true, ordering: .sequentiallyConsistent)
        let due = handlers.withLock { registered in
            defer { registered = [:] }
            return registered
        }
        for (_, handler) in due.sorted(by: { $0.key < $1.key }) { handler() }
    }

    public var isCancelled: Bool { flag.load(ordering: .sequentiallyConsistent) || (parent?.isCancelled ?? false) }

    /// Runs `handler` once, on the thread that cancels, when this cancellation or any parent is
    /// cancelled; at once, on this thread, if one already is. Until the handle is invalidated.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) -> CancellationHandle {
        let once = Atomic<Bool>(false)
        let fire: @Sendable () -> Void = { if !once.exchange(true, ordering: .sequentiallyConsistent) { handler() } }
        let handle = CancellationHandle()
        var level: Cancellation? = self
        while let current = level {
            let id = current.nextID.add(1, ordering: .relaxed).newValue
            current.handlers.withLock { $0[id] = fire }
            handle.add(current, id)
            level = current.parent
        }
        // Registered first, checked second: a cancel in between is seen by one of the two.
        if isCancelled { fire() }
        return handle
    }

    fileprivate func remove(_ id: UInt64) { _ = handlers.withLock { $0.removeValue(forKey: id) } }
}

/// A registration made by `Cancellation.onCancel`; `invalidate()` (or releasing it) removes it.
public final class CancellationHandle: Sendable {
    private let registrations = Mutex<[(Cancellation, UInt64)]>([])

    fileprivate func add(_ cancellation: Cancellation, _ id: UInt64) { registrations.withLock { $0.append((cancellation, id)) } }

    public func invalidate() {
        let all = registrations.withLock { registered in
            defer { registered = [] }
            return registered
        }
        for (cancellation, id) in all { cancellation.remove(id) }
    }

    deinit { invalidate() }
}
