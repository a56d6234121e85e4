import Foundation
import Testing
@testable import CairnCore
@testable import CairnArchive
@testable import CairnInterfaces
@testable import CairnState
@testable import CairnOperations
import CairnTestSupport

@Suite("HostCheck")
struct HostCheckTests {
    let thresholds = HostCheckThresholds()

    static func meminfo(availableKiB: UInt64, totalKiB: UInt64 = 24_531_856) -> String {
        """
        MemTotal:       \(totalKiB) kB
        MemFree:          912340 kB
        MemAvailable:   \(availableKiB) kB
        Buffers:          120000 kB
        HugePages_Total:       0
        """
    }

    @Test func memoryThresholds() throws {
        let pass = HostChecks.memory(thresholds: thresholds, meminfo: Self.meminfo(availableKiB: 3_355_443))
        #expect(pass.status == .pass)
        #expect(pass.source == "host")
        #expect(pass.name == "memory")
        #expect(pass.message == "3.2 GiB available of 23.4 GiB")
        #expect(pass.detail?["available_bytes"] == .number(3_355_443 * 1024))
        #expect(pass.detail?["total_bytes"] == .number(24_531_856 * 1024))

        let warn = HostChecks.memory(thresholds: thresholds, meminfo: Self.meminfo(availableKiB: 1024 * 1024 - 1))
        #expect(warn.status == .warn)
        #expect(warn.message.hasSuffix(", below the warning level of 1 GiB"))
        // Exactly at a limit is enough.
        #expect(HostChecks.memory(thresholds: thresholds, meminfo: Self.meminfo(availableKiB: 1024 * 1024)).status == .pass)
        #expect(HostChecks.memory(thresholds: thresholds, meminfo: Self.meminfo(availableKiB: 512 * 1024)).status == .warn)

        let fail = HostChecks.memory(thresholds: thresholds, meminfo: Self.meminfo(availableKiB: 300 * 1024))
        #expect(fail.status == .fail)
        #expect(fail.message == "300.0 MiB available of 23.4 GiB, below the minimum of 512 MiB")
    }

    @Test func memoryWithoutUsableNumbersWarns() {
        let result = HostChecks.memory(thresholds: thresholds, meminfo: "MemTotal: 100 kB\nMemFree: 50 kB\n")
        #expect(result.status == .warn)
        #expect(result.message.contains("no MemAvailable"))
        #expect(HostChecks.memory(thresholds: thresholds, meminfo: "").status == .warn)
    }

    @Test func loadOnlyWarnsUnlessALimitIsConfigured() {
        let busy = HostChecks.load(thresholds: HostCheckThresholds(), loadavg: "40.00 1 1 1/1 1", cores: 2)
        #expect(busy.status == .warn)
        #expect(busy.detail?["max_load_per_core"] == nil)
    }

    @Test func loadThresholds() {
        let thresholds = HostCheckThresholds(maxLoadPerCore: 4.0)
        let pass = HostChecks.load(thresholds: thresholds, loadavg: "1.04 0.58 0.59 1/467 12345\n", cores: 2)
        #expect(pass.status == .pass)
        #expect(pass.name == "load")
        #expect(pass.message == "load 1.04 on 2 cores (0.52 per core)")
        #expect(pass.detail?["load_per_core"] == .number(0.52))
        #expect(pass.detail?["cores"] == .number(2))

        #expect(HostChecks.load(thresholds: thresholds, loadavg: "4.00 1 1 1/1 1", cores: 2).status == .pass)
        let warn = HostChecks.load(thresholds: thresholds, loadavg: "4.02 1 1 1/1 1", cores: 2)
        #expect(warn.status == .warn)
        #expect(warn.message.hasSuffix("above the warning level of 2.0 per core"))
        #expect(HostChecks.load(thresholds: thresholds, loadavg: "8.00 1 1 1/1 1", cores: 2).status == .warn)
        let fail = HostChecks.load(thresholds: thresholds, loadavg: "8.50 1 1 1/1 1", cores: 2)
        #expect(fail.status == .fail)
        #expect(fail.message == "load 8.50 on 2 cores (4.25 per core), above the limit of 4.0 per core")
        #expect(HostChecks.load(thresholds: thresholds, loadavg: "3.5 1 1 1/1 1", cores: 1).message.contains("on 1 core ("))
    }

    @Test func unparsableLoadWarns() {
        let result = HostChecks.load(thresholds: thresholds, loadavg: "garbage", cores: 2)
        #expect(result.status == .warn)
        #expect(result.message.contains("cannot parse /proc/loadavg"))
    }

    @Test func diskOnATemporaryDirectoryAndANotYetExistingPath() throws {
        let directory = try TemporaryDirectory("host-check")
        let missing = directory.path("staging/not/yet").path
        let relaxed = HostCheckThresholds(minFreeDiskBytes: 1, warnFreeDiskBytes: 2)
        let results = HostChecks.disk(paths: [directory.url.path, missing], thresholds: relaxed)
        // Both paths are on one filesystem: one result names both.
        #expect(results.count == 1)
        let result = try #require(results.first)
        #expect(result.source == "host")
        #expect(result.name == "disk")
        #expect(result.status == .pass)
        #expect(result.message.contains("\(missing) (not created yet, checked at \(directory.url.path))"))
        #expect(result.detail?["paths"] == .array([.string(directory.url.path), .string(missing)]))
        let free = try #require(result.detail?["free_bytes"]?.numberValue)
        let total = try #require(result.detail?["total_bytes"]?.numberValue)
        #expect(free > 0 && free <= total)

        // The same filesystem against limits above and below its free space.
        let impossible = HostCheckThresholds(minFreeDiskBytes: UInt64(total) + 1, warnFreeDiskBytes: UInt64(total) + 2)
        let failed = HostChecks.disk(paths: [missing], thresholds: impossible)
        #expect(failed.map(\.status) == [.fail])
        #expect(failed.first?.detail?["checked_path"] == .string(directory.url.path))
        #expect(failed.first?.message.contains("below the minimum of") == true)
        let tight = HostCheckThresholds(minFreeDiskBytes: 1, warnFreeDiskBytes: UInt64(total) + 1)
        #expect(HostChecks.disk(paths: [missing], thresholds: tight).map(\.status) == [.warn])
    }

    @Test func realMachineParsesSanely() throws {
        let memory = HostChecks.memory(thresholds: thresholds)
        let available = try #require(memory.detail?["available_bytes"]?.numberValue, "\(memory.message)")
        let total = try #require(memory.detail?["total_bytes"]?.numberValue)
        #expect(available > 0 && available <= total)
        let load = HostChecks.load(thresholds: thresholds)
        let load1 = try #require(load.detail?["load1"]?.numberValue, "\(load.message)")
        #expect(load1 >= 0)
        #expect(load.detail?["cores"] == .number(Double(ProcessInfo.processInfo.activeProcessorCount)))
        let all = HostChecks.all(paths: [FileManager.default.temporaryDirectory.path], thresholds: thresholds)
        #expect(all.map(\.name) == ["disk", "memory", "load"])
    }

    @Test func byteSizes() throws {
        #expect(try parseByteSize("1024") == 1024)
        #expect(try parseByteSize("10GB") == 10_000_000_000)
        #expect(try parseByteSize("10 GB") == 10_000_000_000)
        #expect(try parseByteSize(" 10gb ") == 10_000_000_000)
        #expect(try parseByteSize("512MiB") == 512 << 20)
        #expect(try parseByteSize("512Mi") == 512 << 20)
        #expect(try parseByteSize("1.5G") == 1_500_000_000)
        #expect(try parseByteSize("1.5GiB") == 3 << 29)
        #expect(try parseByteSize("0.1KiB") == 102)  // 102.4, rounded down
        #expect(try parseByteSize(".5K") == 500)
        #expect(try parseByteSize("2.") == 2)
        #expect(try parseByteSize("7B") == 7)
        #expect(try parseByteSize("1k") == 1000)
        #expect(try parseByteSize("16PiB") == 16 << 50)
        #expect(try parseByteSize("18446744073709551615") == UInt64.max)
    }

    @Test func junkSizesAreRefusedClearly() {
        for junk in ["", "GB", "ten GB", "-5GB", "1.2.3G", ".", "10 XB", "10 GBs", "1e9", "10 G B"] {
            let error = #expect(throws: CairnError.self, "\(junk)") { try parseByteSize(junk) }
            #expect(error?.exitCode == .usage)
            #expect(error?.message.hasPrefix("'\(junk)' is not a size") == true, "\(junk): \(error?.message ?? "")")
        }
        let unit = #expect(throws: CairnError.self) { try parseByteSize("10 XB") }
        #expect(unit?.message.contains("unknown unit 'XB'") == true)
        let large = #expect(throws: CairnError.self) { try parseByteSize("18446744073709551616") }
        #expect(large?.message.contains("is too large") == true)
        #expect(throws: CairnError.self) { try parseByteSize("20000PB") }
        #expect(throws: CairnError.self) { try parseByteSize("16384PiB") }
    }
}
