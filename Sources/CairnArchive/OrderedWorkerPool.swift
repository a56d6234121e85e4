import CairnCore
import Foundation

/// A job for OrderedWorkerPool, collected by its sequence number.
///
/// A job is owned by one thread at a time (the producer prepares it, one worker runs it, the
/// producer collects it); every hand-over happens under the pool's lock, which orders the
/// memory accesses.
protocol SequencedJob: AnyObject {
    var sequence: Int { get }
}

/// Worker threads and the queue between them and one producer. Workers take jobs in submission
/// order and finish them in any order; the producer collects them by sequence number. Each
/// worker makes its own `Tools` (a libdeflate compressor or decompressor) once.
///
/// Plain threads rather than Swift tasks: each job is ~1-30 ms of blocking CPU work, and the
/// producer must block when too many jobs are in flight, which tasks must not do.
///
/// `@unchecked Sendable`: all mutable state below is only touched with `monitor` held.
final class OrderedWorkerPool<Job: SequencedJob, Tools>: @unchecked Sendable {
    private static var workAvailable: Int { 0 }
    private static var jobDone: Int { 1 }

    private let name: String
    private let makeTools: () -> Tools
    /// Runs one job; a message fails the pool (every later take throws it).
    private let work: (Job, Tools) -> String?
    private let monitor = ThreadMonitor(conditionCount: 2)
    private var queue: [Job] = []
    private var completed: [Int: Job] = [:]
    private var stopping = false
    private var failure: String?
    private var liveWorkers = 0

    init(name: String, threads: Int, makeTools: @escaping () -> Tools, work: @escaping (Job, Tools) -> String?) {
        self.name = name
        self.makeTools = makeTools
        self.work = work
        liveWorkers = threads
        for index in 0..<threads {
            let thread = Thread { [self] in
                #if os(Linux)
                // Niced below the producer's thread: it feeds the pool and waits on reads and
                // handoffs (a plugin's worker process among them), so it must get a core at once
                // when it can go on. On Linux, `who` 0 is the calling thread, not the process.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 4)
                #endif
                workerLoop()
            }
            thread.name = "cairn-\(name)-\(index)"
            thread.start()
        }
    }

    /// Worker threads that have not exited yet.
    var liveWorkerCount: Int { monitor.withLock { liveWorkers } }

    func submit(_ job: Job) {
        monitor.withLock {
            queue.append(job)
            monitor.signal(Self.workAvailable)
        }
    }

    /// The job with `sequence` once done; nil if `wait` is false and it is not done yet.
    func takeCompleted(sequence: Int, wait: Bool) throws -> Job? {
        monitor.lock(); defer { monitor.unlock() }
        while true {
            if let failure { throw ArchiveError.compressionFailed(failure) }
            if stopping { throw ArchiveError.invalidState("the \(name) threads were stopped") }
            if let job = completed.removeValue(forKey: sequence) { return job }
            if !wait { return nil }
            monitor.wait(Self.jobDone)
        }
    }

    /// Asks workers to exit after their current job and waits until they have; pending jobs
    /// are dropped. Idempotent.
    func stop() {
        monitor.lock(); defer { monitor.unlock() }
        stopping = true
        queue.removeAll()
        completed.removeAll()
        monitor.broadcast(Self.workAvailable)
        while liveWorkers > 0 { monitor.wait(Self.jobDone) }
    }

    private func workerLoop() {
        let tools = makeTools()
        defer {
            monitor.withLock {
                liveWorkers -= 1
                monitor.broadcast(Self.jobDone)
            }
        }
        while true {
            monitor.lock()
            while queue.isEmpty && !stopping { monitor.wait(Self.workAvailable) }
            if stopping { monitor.unlock(); return }
            let job = queue.removeFirst()
            monitor.unlock()

            let problem = work(job, tools)

            monitor.lock()
            if let problem { failure = problem }
            if !stopping { completed[job.sequence] = job }
            monitor.broadcast(Self.jobDone)
            monitor.unlock()
        }
    }
}
