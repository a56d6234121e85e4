import CairnCore
/// Limits for the host pre-checks; the defaults follow the manual runbook's "Check System Resources".
public struct HostCheckThresholds: Sendable, Equatable {
    /// Runbook: "need at least 10GB free".
    public var minFreeDiskBytes: UInt64
    public var warnFreeDiskBytes: UInt64
    public var minAvailableMemoryBytes: UInt64
    public var warnAvailableMemoryBytes: UInt64
    /// 1-minute load average per active core: fail above. Off (infinite) unless configured: a busy
    /// machine still deserves its backup, so load alone only warns by default.
    public var maxLoadPerCore: Double
    /// Warn above.
    public var warnLoadPerCore: Double

    public init(minFreeDiskBytes: UInt64 = 10_000_000_000, warnFreeDiskBytes: UInt64 = 20_000_000_000,
                minAvailableMemoryBytes: UInt64 = 512 << 20, warnAvailableMemoryBytes: UInt64 = 1 << 30,
                maxLoadPerCore: Double = .infinity, warnLoadPerCore: Double = 2.0) {
        self.minFreeDiskBytes = minFreeDiskBytes
        self.warnFreeDiskBytes = warnFreeDiskBytes
        self.minAvailableMemoryBytes = minAvailableMemoryBytes
        self.warnAvailableMemoryBytes = warnAvailableMemoryBytes
        self.maxLoadPerCore = maxLoadPerCore
        self.warnLoadPerCore = warnLoadPerCore
    }
}
