import CairnState
import Foundation

/// The scratch folders `cairn-<pid>-<random>` that invocations make under `staging_dir`. One that
/// ends removes its own; one that is killed cannot, so the next invocation removes the folders
/// of processes that are gone. The staging folder is local, so a pid is checked on this host; a
/// folder of a live process (or of a pid reused since) is left alone.
enum StagingSweep {
    static func folderName(pid: Int32) -> String { "cairn-\(pid)-\(UInt32.random(in: 0...UInt32.max))" }

    /// The pid in a scratch folder's name, or nil when `name` is not one.
    static func pid(inFolderName name: String) -> Int32? {
        let fields = name.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0] == "cairn", UInt32(fields[2]) != nil, let pid = Int32(fields[1]), pid > 0 else {
            return nil
        }
        return pid
    }

    /// Removes the dead processes' scratch folders in `staging`; returns those removed.
    @discardableResult
    static func removeDeadFolders(in staging: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? []
        var removed: [URL] = []
        for name in names {
            guard let pid = pid(inFolderName: name), pid != LocalProcess.pid, !LocalProcess.isAlive(pid: pid) else { continue }
            let folder = staging.appendingPathComponent(name)
            if (try? FileManager.default.removeItem(at: folder)) != nil { removed.append(folder) }
        }
        return removed
    }
}
