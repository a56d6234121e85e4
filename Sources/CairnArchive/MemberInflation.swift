import CDeflate

/// One gzip member Cairn wrote (GzipMember: it declares its sizes), decompressed whole by
/// libdeflate: on a worker thread when GzipDecoder reads ahead, else on the reader's thread.
/// Buffers grow to the largest member seen and are reused.
///
/// `@unchecked Sendable`: owned by one thread at a time (see SequencedJob).
final class InflateJob: SequencedJob, @unchecked Sendable {
    private(set) var sequence = 0
    /// Compressed offset of the member, for messages.
    private(set) var offset: Int64 = 0
    private var input: UnsafeMutableRawPointer?
    private var inputCapacity = 0
    /// The member's bytes: a copy in `input`, or borrowed where they lie.
    private var member: UnsafeRawPointer?
    private(set) var memberSize = 0
    private(set) var output: UnsafeMutableRawPointer?
    private var outputCapacity = 0
    private(set) var uncompressedSize = 0
    /// Why the member is corrupt; nil once inflated to exactly its declared sizes.
    private(set) var problem: String?

    deinit {
        input?.deallocate()
        output?.deallocate()
    }

    /// Bytes this job holds while in flight.
    var footprint: Int { memberSize + uncompressedSize }

    /// Makes room for the member's declared output and copies its bytes in; `borrow` points at
    /// them instead, for a job run on the caller's thread before they move.
    func prepare(sequence: Int, offset: Int64, member: UnsafeRawPointer, memberSize: Int, uncompressedSize: Int,
                 borrow: Bool = false) {
        self.sequence = sequence
        self.offset = offset
        self.memberSize = memberSize
        self.uncompressedSize = uncompressedSize
        problem = nil
        Self.grow(&output, &outputCapacity, to: uncompressedSize)
        if borrow {
            self.member = member
        } else {
            Self.grow(&input, &inputCapacity, to: memberSize)
            input!.copyMemory(from: member, byteCount: memberSize)
            self.member = UnsafeRawPointer(input)
        }
    }

    /// Decompresses the member; `problem` says what is wrong with it, if anything.
    func run(_ decompressor: MemberDecompressor) {
        guard let pointer = decompressor.pointer else { problem = "libdeflate could not allocate a decompressor"; return }
        var usedIn = 0
        var produced = 0
        let result = libdeflate_gzip_decompress_ex(pointer, member, memberSize, output, uncompressedSize,
                                                   &usedIn, &produced)
        member = nil
        guard result == LIBDEFLATE_SUCCESS, usedIn == memberSize, produced == uncompressedSize else {
            problem = result == LIBDEFLATE_SUCCESS ? "its sizes differ from the ones its header declares"
                : result == LIBDEFLATE_INSUFFICIENT_SPACE ? "it holds more data than its header declares"
                : "invalid deflate data or CRC"
            return
        }
    }

    private static func grow(_ buffer: inout UnsafeMutableRawPointer?, _ capacity: inout Int, to size: Int) {
        guard size > capacity || buffer == nil else { return }
        buffer?.deallocate()
        capacity = max(size, 1)
        buffer = .allocate(byteCount: capacity, alignment: 64)
    }
}

/// One thread's libdeflate decompressor.
final class MemberDecompressor {
    let pointer: OpaquePointer?

    init() { pointer = libdeflate_alloc_decompressor() }
    deinit { if let pointer { libdeflate_free_decompressor(pointer) } }
}

/// The decompression threads of GzipDecoder's read-ahead.
typealias InflatePool = OrderedWorkerPool<InflateJob, MemberDecompressor>

extension OrderedWorkerPool where Job == InflateJob, Tools == MemberDecompressor {
    convenience init(threads: Int) {
        self.init(name: "gunzip", threads: threads, makeTools: MemberDecompressor.init) { job, decompressor in
            job.run(decompressor)
            return nil
        }
    }
}
