import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation
import Logging

/// Everything the host services of one plugin instance need; `host_ctx` points at it.
/// Strings handed to the plugin are kept here so they stay valid until `close` (cairn_plugin.h).
final class PluginContext: @unchecked Sendable {
    // @unchecked: the plugin calls us from the thread we called it on, one call at a time per
    // instance (cairn_plugin.h, THREADING); `progressHandler` is only swapped between calls.
    let label: String
    let logger: Logger
    let cancellation: Cancellation
    var progressHandler: (@Sendable (UInt64, UInt64, String?) -> Void)?
    /// Opens the configured store for the "cairn.store" table; set for component instances only.
    var storeProvider: (() throws -> any ObjectStore)?
    private var openedStore: (any ObjectStore)?
    private var settings: [String: UnsafeMutablePointer<CChar>] = [:]
    private var secrets: [String: UnsafeMutablePointer<CChar>] = [:]
    private let tempDirectory: UnsafeMutablePointer<CChar>
    private(set) var allocatedBytes = 0

    init(label: String, settings: PluginSettings, logger: Logger, cancellation: Cancellation, tempDirectory: String) {
        self.label = label
        self.logger = logger
        self.cancellation = cancellation
        self.tempDirectory = strdup(tempDirectory)
        for (key, setting) in settings.values {
            let text = strdup(PluginSettings.text(setting.value))!
            if setting.secret { secrets[key] = text } else { self.settings[key] = text }
        }
    }

    deinit {
        settings.values.forEach { free($0) }
        secrets.values.forEach { free($0) }
        free(tempDirectory)
    }

    func setting(_ key: String) -> UnsafePointer<CChar>? { settings[key].map { UnsafePointer($0) } }
    func secret(_ key: String) -> UnsafePointer<CChar>? { secrets[key].map { UnsafePointer($0) } }
    var tempDirectoryPath: UnsafePointer<CChar> { UnsafePointer(tempDirectory) }

    func noteAllocation(_ size: Int) { allocatedBytes += size }

    /// The store behind "cairn.store", opened on first use and kept for the instance's life.
    func store() throws -> any ObjectStore {
        if let openedStore { return openedStore }
        guard let storeProvider else { throw CairnError.usage("this instance has no store") }
        let store = try storeProvider()
        openedStore = store
        return store
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> PluginContext? {
        pointer.map { Unmanaged<PluginContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// The `cairn_host_api` table. Functions are C-convention closures that capture nothing: the
/// instance's context arrives through `host_ctx`.
enum HostServices {
    static func makeTable(for context: PluginContext) -> UnsafeMutablePointer<cairn_host_api> {
        let table = UnsafeMutablePointer<cairn_host_api>.allocate(capacity: 1)
        table.initialize(to: cairn_host_api(
            struct_size: UInt32(MemoryLayout<cairn_host_api>.size),
            abi_major: HostABI.major,
            abi_minor: HostABI.minor,
            host_ctx: Unmanaged.passUnretained(context).toOpaque(),
            log: { ctx, level, message in
                guard let context = PluginContext.from(ctx), let message else { return }
                let text = Logger.Message(stringLiteral: String(cString: message))
                let metadata: Logger.Metadata = ["plugin": .string(context.label)]
                switch level {
                case CAIRN_LOG_DEBUG: context.logger.debug(text, metadata: metadata)
                case CAIRN_LOG_WARNING: context.logger.warning(text, metadata: metadata)
                case CAIRN_LOG_ERROR: context.logger.error(text, metadata: metadata)
                default: context.logger.info(text, metadata: metadata)
                }
            },
            progress: { ctx, done, total, what in
                PluginContext.from(ctx)?.progressHandler?(done, total, what.map { String(cString: $0) })
            },
            is_cancelled: { ctx in
                (PluginContext.from(ctx)?.cancellation.isCancelled ?? false) ? 1 : 0
            },
            config_get: { ctx, key in
                guard let context = PluginContext.from(ctx), let key else { return nil }
                return context.setting(String(cString: key))
            },
            secret_get: { ctx, key in
                guard let context = PluginContext.from(ctx), let key else { return nil }
                return context.secret(String(cString: key))
            },
            alloc: { ctx, size in
                PluginContext.from(ctx)?.noteAllocation(size)
                return malloc(size)
            },
            free: { _, pointer in free(pointer) },
            get_api: { ctx, name, version in
                guard let context = PluginContext.from(ctx), let name else { return nil }
                return StoreHostTable.lookup(context, name: String(cString: name), version: version)
            },
            temp_dir: { ctx in PluginContext.from(ctx)?.tempDirectoryPath }
        ))
        return table
    }

    /// A table that lives only for `body`, as a native action's call does. The context is kept
    /// alive too: the table points at it without retaining it.
    static func withTable<R>(for context: PluginContext, _ body: (UnsafePointer<cairn_host_api>) throws -> R) rethrows -> R {
        let table = makeTable(for: context)
        defer {
            table.deinitialize(count: 1)
            table.deallocate()
        }
        return try withExtendedLifetime(context) { try body(table) }
    }
}
