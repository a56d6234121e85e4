import CairnCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The runbook's "Check System Resources" (df -h, free -h, uptime) as pre-checks: disk space where
/// cairn writes, available memory, CPU load. An unreadable source is a warning, never a crash: the
/// backup itself may still work.
public enum HostChecks {
    static let source = "host"

    /// Free space (statvfs: f_bavail * f_frsize, what an unprivileged writer can use) at each path, e.g.
    /// the staging and log folders. A path that does not exist yet is checked at its nearest existing
    /// parent. Paths on one filesystem share one result, so its space is not reported twice.
    public static func disk(paths: [String], thresholds: HostCheckThresholds) -> [CheckResult] {
        var results: [CheckResult] = []
        var filesystems: [(device: UInt64, paths: [(path: String, existing: String)])] = []
        for path in paths {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            let existing = nearestExistingPath(absolute)
            var info = stat()
            guard stat(existing, &info) == 0 else {
                results.append(CheckResult(source: source, name: "disk", status: .warn,
                                           message: "cannot check free space at \(absolute): \(String(cString: strerror(errno)))",
                                           detail: .object(["path": .string(absolute)])))
                continue
            }
            let device = UInt64(info.st_dev)
            if let index = filesystems.firstIndex(where: { $0.device == device }) {
                filesystems[index].paths.append((absolute, existing))
            } else {
                filesystems.append((device, [(absolute, existing)]))
            }
        }
        for filesystem in filesystems {
            results.append(diskResult(paths: filesystem.paths, thresholds: thresholds))
        }
        return results
    }

    /// MemAvailable (the kernel's estimate of memory usable without swapping) from /proc/meminfo.
    /// `meminfo` replaces the file's text, for tests.
    public static func memory(thresholds: HostCheckThresholds, meminfo: String? = nil) -> CheckResult {
        let text: String
        do { text = try meminfo ?? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) } catch {
            return CheckResult(source: source, name: "memory", status: .warn,
                               message: "cannot read /proc/meminfo: \(describe(error))")
        }
        var fields: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            // "MemAvailable:    3355443 kB" (the kernel's kB are KiB)
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " })
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            fields[String(parts[0])] = parts.count > 2 && parts[2] == "kB" ? value * 1024 : value
        }
        guard let available = fields["MemAvailable"], let total = fields["MemTotal"] else {
            return CheckResult(source: source, name: "memory", status: .warn,
                               message: "/proc/meminfo has no MemAvailable and MemTotal lines; memory not checked")
        }
        let (status, below) = grade(available, minimum: thresholds.minAvailableMemoryBytes, warning: thresholds.warnAvailableMemoryBytes)
        let message = "\(formatByteCount(available)) available of \(formatByteCount(total))\(below)"
        return CheckResult(source: source, name: "memory", status: status, message: message, detail: .object([
            "available_bytes": .number(Double(available)), "total_bytes": .number(Double(total)),
            "min_available_bytes": .number(Double(thresholds.minAvailableMemoryBytes)),
            "warn_available_bytes": .number(Double(thresholds.warnAvailableMemoryBytes)),
        ]))
    }

    /// The 1-minute load average from /proc/loadavg divided by the active cores. `loadavg` and `cores`
    /// replace the machine's, for tests.
    public static func load(thresholds: HostCheckThresholds, loadavg: String? = nil, cores: Int? = nil) -> CheckResult {
        let text: String
        do { text = try loadavg ?? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) } catch {
            return CheckResult(source: source, name: "load", status: .warn,
                               message: "cannot read /proc/loadavg: \(describe(error))")
        }
        // "0.52 0.58 0.59 1/467 12345"
        guard let first = text.split(separator: " ").first, let load1 = Double(first), load1 >= 0 else {
            return CheckResult(source: source, name: "load", status: .warn,
                               message: "cannot parse /proc/loadavg ('\(text.prefix(40))'); load not checked")
        }
        let cores = max(1, cores ?? ProcessInfo.processInfo.activeProcessorCount)
        let perCore = load1 / Double(cores)
        let status: CheckResult.Status = perCore > thresholds.maxLoadPerCore ? .fail
            : perCore > thresholds.warnLoadPerCore ? .warn : .pass
        var message = "load \(String(format: "%.2f", load1)) on \(cores) core\(cores == 1 ? "" : "s")"
            + " (\(String(format: "%.2f", perCore)) per core)"
        if status == .fail { message += ", above the limit of \(String(format: "%.1f", thresholds.maxLoadPerCore)) per core" }
        if status == .warn { message += ", above the warning level of \(String(format: "%.1f", thresholds.warnLoadPerCore)) per core" }
        var detail: [String: JSONValue] = [
            "load1": .number(load1), "cores": .number(Double(cores)), "load_per_core": .number(perCore),
            "warn_load_per_core": .number(thresholds.warnLoadPerCore),
        ]
        // JSON has no infinity: an unset limit is simply absent.
        if thresholds.maxLoadPerCore.isFinite { detail["max_load_per_core"] = .number(thresholds.maxLoadPerCore) }
        return CheckResult(source: source, name: "load", status: status, message: message, detail: .object(detail))
    }

    /// Disk results for `paths`, then memory, then load.
    public static func all(paths: [String], thresholds: HostCheckThresholds) -> [CheckResult] {
        disk(paths: paths, thresholds: thresholds) + [memory(thresholds: thresholds), load(thresholds: thresholds)]
    }

    /// Fails below `minimum`, warns below `warning`; the text names the limit crossed, for the message.
    private static func grade(_ bytes: UInt64, minimum: UInt64, warning: UInt64) -> (CheckResult.Status, String) {
        if bytes < minimum { return (.fail, ", below the minimum of \(formatByteLimit(minimum))") }
        if bytes < warning { return (.warn, ", below the warning level of \(formatByteLimit(warning))") }
        return (.pass, "")
    }

    // MARK: Disk helpers

    static func nearestExistingPath(_ path: String) -> String {
        var url = URL(fileURLWithPath: path)
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }

    private static func diskResult(paths: [(path: String, existing: String)], thresholds: HostCheckThresholds) -> CheckResult {
        let place = paths.map { $0.path == $0.existing ? $0.path : "\($0.path) (not created yet, checked at \($0.existing))" }
            .joined(separator: ", ")
        let checked = paths[0].existing
        var info = statvfs()
        guard statvfs(checked, &info) == 0 else {
            return CheckResult(source: source, name: "disk", status: .warn,
                               message: "cannot check free space at \(place): \(String(cString: strerror(errno)))",
                               detail: .object(["paths": .array(paths.map { .string($0.path) }), "checked_path": .string(checked)]))
        }
        let free = UInt64(info.f_bavail) * UInt64(info.f_frsize)
        let total = UInt64(info.f_blocks) * UInt64(info.f_frsize)
        let (status, below) = grade(free, minimum: thresholds.minFreeDiskBytes, warning: thresholds.warnFreeDiskBytes)
        let message = "\(formatByteCount(free)) free of \(formatByteCount(total)) at \(place)\(below)"
        return CheckResult(source: source, name: "disk", status: status, message: message, detail: .object([
            "paths": .array(paths.map { .string($0.path) }), "checked_path": .string(checked),
            "free_bytes": .number(Double(free)), "total_bytes": .number(Double(total)),
            "min_free_bytes": .number(Double(thresholds.minFreeDiskBytes)),
            "warn_free_bytes": .number(Double(thresholds.warnFreeDiskBytes)),
        ]))
    }
}
