import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The result of one access check, before it goes to the host's report.
struct AccessCheck {
    let name: String
    let status: cairn_check_status
    let message: String
    var detailJSON: String? = nil
}

extension FilesystemStore {
    /// Below this much free space the check warns: a backup may not fit.
    static let lowSpaceBytes: UInt64 = 1 << 30

    /// Root exists (or can be created) and is a directory, a probe file can be written, flushed
    /// and removed, the root can be listed, and how much space is free.
    func accessChecks() -> [AccessCheck] {
        let root = rootCheck()
        guard root.status == CAIRN_CHECK_PASS else {
            let skipped = "not checked: storage root '\(self.root)' is not usable"
            return [root] + ["writable", "readable", "free_space"].map {
                AccessCheck(name: $0, status: CAIRN_CHECK_FAIL, message: skipped)
            }
        }
        return [root, writableCheck(), readableCheck(), freeSpaceCheck()]
    }

    private func rootCheck() -> AccessCheck {
        switch Posix.status(of: root) {
        case .success(let st):
            if Posix.isDirectory(st) {
                return AccessCheck(name: "root", status: CAIRN_CHECK_PASS, message: "storage root '\(root)' is a directory")
            }
            return AccessCheck(name: "root", status: CAIRN_CHECK_FAIL,
                               message: "storage root '\(root)' exists but is not a directory")
        case .failure(let error) where error.code == ENOENT:
            do throws(FilesystemError) {
                try createRoot()
                return AccessCheck(name: "root", status: CAIRN_CHECK_PASS, message: "storage root '\(root)' was created")
            } catch {
                return AccessCheck(name: "root", status: CAIRN_CHECK_FAIL, message: error.message)
            }
        case .failure(let error):
            return AccessCheck(name: "root", status: CAIRN_CHECK_FAIL,
                               message: "cannot use storage root '\(root)': \(PluginError.describe(errno: error.code))")
        }
    }

    private func writableCheck() -> AccessCheck {
        let probe = path(of: [".cairn-access-probe-\(getpid())-\(Posix.randomSuffix())"])
        let fail = { (code: Int32, doing: String) in
            AccessCheck(name: "writable", status: CAIRN_CHECK_FAIL,
                        message: "storage root '\(self.root)' is not writable: \(PluginError.describe(errno: code)) (\(doing) '\(probe)')")
        }
        let fd: Int32
        switch Posix.open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600) {
        case .failure(let error): return fail(error.code, "creating")
        case .success(let opened): fd = opened
        }
        let text: StaticString = "cairn access probe\n"
        var code = writeAll(fd, UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        if code == 0 && fsync(fd) != 0 { code = errno }
        if close(fd) != 0 && code == 0 { code = errno }
        let removed = unlink(probe) == 0 ? 0 : errno
        if code != 0 { return fail(code, "writing") }
        if removed != 0 { return fail(removed, "removing") }
        return AccessCheck(name: "writable", status: CAIRN_CHECK_PASS,
                           message: "created, flushed and removed a probe file in '\(root)'")
    }

    private func readableCheck() -> AccessCheck {
        do throws(FilesystemError) {
            let page = try list(prefix: "", after: nil, limit: 1)
            let found = page.objects.isEmpty ? "it holds no objects yet" : "it holds objects"
            return AccessCheck(name: "readable", status: CAIRN_CHECK_PASS,
                               message: "storage root '\(root)' can be listed; \(found)")
        } catch {
            return AccessCheck(name: "readable", status: CAIRN_CHECK_FAIL, message: error.message)
        }
    }

    private func freeSpaceCheck() -> AccessCheck {
        var info = statvfs()
        guard statvfs(root, &info) == 0 else {
            return AccessCheck(name: "free_space", status: CAIRN_CHECK_FAIL,
                               message: "cannot read free space of '\(root)': \(PluginError.describe(errno: errno))")
        }
        let (product, overflow) = UInt64(info.f_bavail).multipliedReportingOverflow(by: UInt64(info.f_frsize))
        let free = overflow ? UInt64.max : product
        let mib = free / (1 << 20)
        let low = free < Self.lowSpaceBytes
        return AccessCheck(name: "free_space", status: low ? CAIRN_CHECK_WARN : CAIRN_CHECK_PASS,
                           message: "\(mib) MiB free in '\(root)'" + (low ? "; less than 1 GiB, backups may not fit" : ""),
                           detailJSON: "{\"free_bytes\":\(free)}")
    }
}
