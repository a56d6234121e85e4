import CairnCore
import CairnInterfaces
import CairnState
import Foundation
import Logging

/// Another run, on this host or another, is writing the component's backups: this run skips the
/// component (nothing is wrong, and it counts as no failed backup).
public struct ComponentLocked: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Who holds a component's lock, as the lock object in the store says.
public struct LockHolder: Codable, Sendable, Equatable {
    public var host: String
    public var pid: Int32
    public var runID: String
    public var startedAt: Date
    /// The lease: past this moment without a renewal, the holder is taken for dead.
    public var expiresAt: Date

    enum CodingKeys: String, CodingKey {
        case host, pid
        case runID = "run_id", startedAt = "started_at", expiresAt = "expires_at"
    }

    var described: String {
        "run \(runID) on host \(host) (pid \(pid), since \(ISO8601DateFormatter().string(from: startedAt)))"
    }
}

/// One run's lock on one component in one environment: the object
/// `<component>/<environment>/cairn.lock` in the store (JSON), created only if absent, renewed by
/// a conditional overwrite (the etag it last wrote) every third of its lease, and removed at the
/// end. Whatever pipeline or command writes the component's backups takes it, on whatever host;
/// a holder killed without releasing it is taken over once its lease has run out.
public final class StoreLease: @unchecked Sendable {
    // @unchecked: `etag`, `holder`, `lost` and `stopped` are guarded by `lock`.
    public let key: String
    public let component: String
    let store: any ObjectStore
    let leaseSeconds: Double
    let logger: Logger
    private let lock = NSLock()
    private var etag: String?
    private var holder: LockHolder
    private var lost: String?
    private var stopped = false
    private let renewed = DispatchSemaphore(value: 0)

    public static func key(component: String, environment: String) -> String {
        StorageLayout(component: component, environment: environment).lockKey
    }

    /// Takes the lock, or throws naming who holds it. nil when the store cannot write
    /// conditionally (a storage plugin older than ABI 1.1): then there is no lock across hosts.
    public static func acquire(store: any ObjectStore, component: String, environment: String, runID: String,
                               leaseSeconds: Double, logger: Logger) throws -> StoreLease? {
        let key = key(component: component, environment: environment)
        let now = Date()
        var me = LockHolder(host: LocalProcess.hostname, pid: LocalProcess.pid, runID: runID, startedAt: now,
                            expiresAt: now.addingTimeInterval(leaseSeconds))
        for _ in 0..<5 {
            let written: StoredObject?
            do { written = try store.putIf(key: key, data: try encode(me), ifVersion: nil) } catch let error as StoreError where error.isUnsupported {
                logger.warning("\(error.message); \(component) in \(environment) is protected only against runs on this machine")
                return nil
            }
            if let written { return StoreLease(key: key, component: component, store: store, leaseSeconds: leaseSeconds, logger: logger, etag: written.etag, holder: me) }
            // Someone holds it: who, and is their lease still running?
            guard let current = try store.stat(key: key) else { continue }  // released a moment ago
            let other = try? read(store, key)
            if let other, other.runID == runID, other.host == me.host, other.pid == me.pid {
                // Ours: a create whose answer was lost and that was sent again.
                return StoreLease(key: key, component: component, store: store, leaseSeconds: leaseSeconds, logger: logger, etag: current.etag, holder: other)
            }
            // A holder on this host whose process is gone is dead now, whatever its lease says.
            let deadHere = other.map { $0.host == me.host && !LocalProcess.isAlive(pid: $0.pid) } ?? false
            if let other, other.expiresAt > Date(), !deadHere {
                throw ComponentLocked(message: "\(component) in \(environment) is locked by \(other.described): another backup of it is running; "
                                      + "its lease runs until \(ISO8601DateFormatter().string(from: other.expiresAt)) unless renewed (lock object \(key))")
            }
            me.expiresAt = Date().addingTimeInterval(leaseSeconds)
            if let taken = try store.putIf(key: key, data: try encode(me), ifVersion: current.etag) {
                let why = deadHere ? "whose process is gone" : "whose lease ran out"
                logger.warning("took over the lock of \(component) in \(environment) from \(other?.described ?? "an unreadable lock object"), \(why)")
                return StoreLease(key: key, component: component, store: store, leaseSeconds: leaseSeconds, logger: logger, etag: taken.etag, holder: me)
            }
        }
        throw CairnError.failure("could not take the lock of \(component) in \(environment) (\(key)): other runs keep changing it")
    }

    private init(key: String, component: String, store: any ObjectStore, leaseSeconds: Double, logger: Logger, etag: String?, holder: LockHolder) {
        self.key = key; self.component = component; self.store = store; self.leaseSeconds = leaseSeconds
        self.logger = logger; self.etag = etag; self.holder = holder
        let renewer = Thread { [weak self] in self?.renewUntilStopped() }
        renewer.name = "cairn lease \(key)"
        renewer.start()
    }

    /// Renews every third of the lease. A renewal refused because the object changed means the
    /// lock was taken over (this run was taken for dead): nothing more may be published.
    private func renewUntilStopped() {
        while renewed.wait(timeout: .now() + leaseSeconds / 3) == .timedOut {
            lock.lock()
            if stopped || lost != nil { lock.unlock(); return }
            var next = holder
            next.expiresAt = Date().addingTimeInterval(leaseSeconds)
            let version = etag
            lock.unlock()
            do {
                let written = try store.putIf(key: key, data: try Self.encode(next), ifVersion: version)
                lock.lock()
                if let written { etag = written.etag; holder = next } else if !stopped {
                    lost = "its lock \(key) was taken over by another run while this one held it"
                    logger.error("\(component): \(lost!)")
                }
                lock.unlock()
            } catch {
                logger.warning("\(component): could not renew the lock \(key): \(describe(error)); trying again")
            }
        }
    }

    /// Before publishing: throws unless this run still holds the lock.
    public func requireHeld() throws {
        lock.lock()
        let (version, lostReason) = (etag, lost)
        lock.unlock()
        if let lostReason { throw CairnError.failure("not published: \(lostReason); latest.tar.gz left as it was") }
        guard let current = try store.stat(key: key), current.etag == version else {
            lock.lock(); lost = "its lock \(key) is no longer its own"; lock.unlock()
            throw CairnError.failure("not published: this run's lock \(key) was taken over or removed; latest.tar.gz left as it was")
        }
    }

    /// Stops renewing and removes the lock object if it is still this run's.
    public func release() {
        lock.lock()
        let first = !stopped
        stopped = true
        let version = etag, stillHeld = lost == nil
        lock.unlock()
        guard first else { return }
        renewed.signal()
        guard stillHeld, let current = try? store.stat(key: key), current.etag == version else { return }
        do { try store.remove(key: key) } catch { logger.warning("\(component): could not remove the lock \(key): \(describe(error)); it expires by itself") }
    }

    static func encode(_ holder: LockHolder) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(holder))
    }

    static func read(_ store: any ObjectStore, _ key: String) throws -> LockHolder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LockHolder.self, from: try store.readSmall(key: key, limit: 65536))
    }
}

/// The locks one run holds, by component; all released when the run ends.
public final class LeaseSet: @unchecked Sendable {
    // @unchecked: `leases` is guarded by `lock`.
    private let lock = NSLock()
    private var leases: [String: StoreLease?] = [:]

    public init() {}

    /// Takes the component's lock unless this run already holds it (a nested pipeline).
    public func acquire(_ component: String, _ take: () throws -> StoreLease?) throws {
        lock.lock(); defer { lock.unlock() }
        guard leases[component] == nil else { return }
        leases[component] = .some(try take())
    }

    public func requireHeld(_ component: String) throws {
        guard let lease = lock.withLock({ leases[component] }) else { return }
        try lease?.requireHeld()
    }

    public func releaseAll() {
        let all = lock.withLock { () -> [StoreLease?] in defer { leases = [:] }; return Array(leases.values) }
        for lease in all { lease?.release() }
    }
}
