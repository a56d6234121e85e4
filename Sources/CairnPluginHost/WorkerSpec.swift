import CairnCore
import CairnPluginIPC
import CCairnPlugin
import Foundation
import Logging

/// How to start a worker for `plugin` (cairn_proxy_spec): its library, the name messages give
/// it, its limits, and the run log for what it writes to stdout and stderr.
enum WorkerSpec {
    static func with<R>(plugin: LoadedPlugin, label: String, isolation: PluginIsolation, context: PluginContext,
                        _ body: (UnsafePointer<cairn_proxy_spec>) throws -> R) rethrows -> R {
        try withCStrings([PluginIsolation.workerPath, plugin.libraryURL.path, label]) { text in
            var spec = cairn_proxy_spec(
                worker_path: text[0], library_path: text[1], label: text[2], memory_limit: isolation.memoryLimit ?? 0,
                grace_ms: UInt32(clamping: Int((isolation.cancelGrace * 1000).rounded())),
                output_line: { ctx, line in
                    guard let ctx, let line else { return }
                    let context = Unmanaged<PluginContext>.fromOpaque(ctx).takeUnretainedValue()
                    context.logger.debug("\(String(cString: line))", metadata: ["plugin": .string(context.label), "stream": "worker"])
                },
                output_ctx: Unmanaged.passUnretained(context).toOpaque())
            return try withExtendedLifetime(context) { try body(&spec) }
        }
    }
}
