import CairnCore
import Foundation

/// Turns a hook's output into log lines as bytes arrive. Memory stays bounded whatever the hook
/// writes: a line longer than `maximumLineBytes` is logged cut, with a marker, and the rest of
/// it is dropped.
struct OutputLineSplitter {
    static let maximumLineBytes = 8192
    static let cutMarker = " [… line cut at 8192 bytes]"

    private var pending: [UInt8] = []
    /// Inside an overlong line that was already logged: drop bytes until the next newline.
    private var discarding = false

    mutating func append(_ chunk: UnsafeRawBufferPointer, emit: (String) -> Void) {
        guard let base = chunk.baseAddress else { return }
        var position = 0
        while position < chunk.count {
            let rest = chunk.count - position
            if let found = memchr(base + position, 0x0A, rest) {
                let end = base.distance(to: UnsafeRawPointer(found))
                take(UnsafeRawBufferPointer(start: base + position, count: end - position), emit: emit)
                if !discarding { emit(Self.text(pending)) }
                pending.removeAll(keepingCapacity: true)
                discarding = false
                position = end + 1
            } else {
                take(UnsafeRawBufferPointer(start: base + position, count: rest), emit: emit)
                position = chunk.count
            }
        }
    }

    /// The last line when the stream ends without a newline.
    mutating func finish(emit: (String) -> Void) {
        if !pending.isEmpty && !discarding { emit(Self.text(pending)) }
        pending.removeAll()
        discarding = false
    }

    private mutating func take(_ bytes: UnsafeRawBufferPointer, emit: (String) -> Void) {
        guard !discarding else { return }
        pending.append(contentsOf: bytes)
        guard pending.count > Self.maximumLineBytes else { return }
        var cut = Self.maximumLineBytes
        // Back off to a character boundary so the kept part stays valid UTF-8.
        while cut > 0 && pending[cut] & 0xC0 == 0x80 { cut -= 1 }
        emit(Self.text(pending[..<cut]) + Self.cutMarker)
        pending.removeAll(keepingCapacity: true)
        discarding = true
    }

    private static func text(_ bytes: some Collection<UInt8>) -> String {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }   // CRLF output logs like LF output
        return line
    }
}
