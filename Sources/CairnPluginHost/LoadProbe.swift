import CairnCore
import CairnPluginIPC
import Foundation

/// Loads a plugin library in a `cairn-plugin-worker --probe` process before cairn loads it into
/// itself to read its descriptor: library constructors and the entry function are the plugin's
/// code too, and one that crashes or hangs must fail that plugin, not cairn.
enum LoadProbe {
    static var timeout: Double { Double(ProcessInfo.processInfo.environment["CAIRN_PLUGIN_LOAD_TIMEOUT"] ?? "") ?? 30 }

    static func run(_ library: URL, _ fail: (String) -> CairnError) throws {
        let worker = PluginIsolation.workerPath
        // Without the worker (a build that ships none), loading is as unguarded as in-process plugins are.
        guard FileManager.default.isExecutableFile(atPath: worker) else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: worker)
        process.arguments = ["--probe", library.path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice  // a crash's backtrace; the one line below says what happened
        do { try process.run() } catch { return }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw fail("loading it did not finish within \(Int(timeout)) s (its library constructors or entry function hang); cairn did not load it")
        }
        if process.terminationReason == .uncaughtSignal {
            throw fail("it crashed (\(signalName(process.terminationStatus))) while loading (its library constructors or entry function), in a worker process; cairn did not load it")
        }
        // A library that loads but refuses this host is described by the in-process checks that follow.
    }

    static func signalName(_ number: Int32) -> String {
        var name = [CChar](repeating: 0, count: 32)
        cairn_signal_name(number, &name, name.count)
        return String(cString: name)
    }
}
