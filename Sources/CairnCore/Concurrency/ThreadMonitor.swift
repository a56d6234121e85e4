import Foundation

/// A pthread mutex with a fixed set of condition variables, for the few places that hand work
/// between threads without Swift concurrency (compression workers must not sit on the
/// cooperative pool, whose threads are not to be blocked).
///
/// `@unchecked Sendable`: the pthread objects are themselves the synchronisation; they live at
/// stable heap addresses for the object's lifetime and are only used through pthread calls.
public final class ThreadMonitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    public init(conditionCount: Int) {
        self.conditionCount = conditionCount
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: conditionCount)
        for i in 0..<conditionCount { pthread_cond_init(conditions + i, nil) }
    }

    deinit {
        for i in 0..<conditionCount { pthread_cond_destroy(conditions + i) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits on condition `index`; the caller holds the lock.
    public func wait(_ index: Int) { pthread_cond_wait(conditions + index, mutex) }
    public func signal(_ index: Int) { pthread_cond_signal(conditions + index) }
    public func broadcast(_ index: Int) { pthread_cond_broadcast(conditions + index) }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock(); defer { unlock() }
        return try body()
    }
}
