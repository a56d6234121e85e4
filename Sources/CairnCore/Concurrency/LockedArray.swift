import Foundation

/// A fixed-size array written from several threads.
public final class LockedArray<Element>: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private var storage: [Element]
    private let lock = NSLock()
    public init(repeating value: Element, count: Int) { storage = Array(repeating: value, count: count) }
    public subscript(index: Int) -> Element {
        get { lock.lock(); defer { lock.unlock() }; return storage[index] }
        set { lock.lock(); storage[index] = newValue; lock.unlock() }
    }
    public var values: [Element] { lock.lock(); defer { lock.unlock() }; return storage }
}
