import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation
import Logging
import Synchronization

/// Everything the host services of one plugin instance need; `host_ctx` points at it.
/// Strings handed to the plugin are kept here so they stay valid until `close` (cairn_plugin.h).
final class PluginContext: @unchecked Sendable {
    // @unchecked: host services may be called from any thread during a call (cairn_plugin.h,
    // THREADING). What never changes after init is read freely; everything that changes sits
    // behind `lock` or is atomic.
    let label: String
    let logger: Logger
    let cancellation: Cancellation
    private let lock = NSLock()
    private var _progressHandler: (@Sendable (UInt64, UInt64, String?) -> Void)?
    private var _storeProvider: (() throws -> any ObjectStore)?
    private var openedStore: (any ObjectStore)?
    /// Serializes the "cairn.store" table's calls: plugin threads may call it at once, and a store
    /// is used by one thread at a time.
    let storeLock = NSRecursiveLock()  // recursive: a `read` chunk callback may call the table again
    private let settings: [String: UnsafeMutablePointer<CChar>]
    private let secrets: [String: UnsafeMutablePointer<CChar>]
    /// The typed getters' source: the non-secret settings as resolved.
    let values: [String: JSONValue]
    private var lists: [String: (UnsafeMutablePointer<UnsafePointer<CChar>?>, Int)] = [:]
    private let tempDirectory: UnsafeMutablePointer<CChar>
    private let allocated = Atomic<Int>(0)
    let interrupt = InterruptSlot()
    /// Calls into the instance under way, plus live storage writers and readers: host services are
    /// the plugin's to call only while this is above zero (cairn_plugin.h, THREADING).
    private let active = Atomic<Int>(0)
    private var strays: [String] = []

    init(label: String, settings: PluginSettings, logger: Logger, cancellation: Cancellation, tempDirectory: String) {
        self.label = label
        self.logger = logger
        self.cancellation = cancellation
        self.tempDirectory = strdup(tempDirectory)
        var texts: [String: UnsafeMutablePointer<CChar>] = [:], secrets: [String: UnsafeMutablePointer<CChar>] = [:]
        var values: [String: JSONValue] = [:]
        for (key, setting) in settings.values {
            let text = strdup(PluginSettings.text(setting.value))!
            if setting.secret { secrets[key] = text } else { texts[key] = text; values[key] = setting.value }
        }
        self.settings = texts
        self.secrets = secrets
        self.values = values
    }

    deinit {
        interrupt.set(nil, nil, cancellation: cancellation)
        settings.values.forEach { free($0) }
        secrets.values.forEach { free($0) }
        for (items, count) in lists.values {
            for index in 0..<count { free(UnsafeMutableRawPointer(mutating: items[index])) }
            items.deallocate()
        }
        free(tempDirectory)
    }

    var progressHandler: (@Sendable (UInt64, UInt64, String?) -> Void)? {
        get { lock.withLock { _progressHandler } }
        set { lock.withLock { _progressHandler = newValue } }
    }

    var storeProvider: (() throws -> any ObjectStore)? {
        get { lock.withLock { _storeProvider } }
        set { lock.withLock { _storeProvider = newValue } }
    }

    func setting(_ key: String) -> UnsafePointer<CChar>? { settings[key].map { UnsafePointer($0) } }
    func secret(_ key: String) -> UnsafePointer<CChar>? { secrets[key].map { UnsafePointer($0) } }
    var tempDirectoryPath: UnsafePointer<CChar> { UnsafePointer(tempDirectory) }

    func beginActivity() { active.add(1, ordering: .sequentiallyConsistent) }
    func endActivity() { active.subtract(1, ordering: .sequentiallyConsistent) }

    /// Records a host service called while nothing of the instance was under way: a thread the
    /// plugin left running after its call returned. `cairn plugins test` fails a plugin for it.
    func noteService(_ name: StaticString) {
        guard active.load(ordering: .sequentiallyConsistent) <= 0 else { return }
        lock.withLock { if strays.count < 100 { strays.append("\(name)") } }
    }

    /// The host services called outside any call so far.
    var strayServiceCalls: [String] { lock.withLock { strays } }

    func noteAllocation(_ size: Int) { allocated.add(size, ordering: .relaxed) }
    var allocatedBytes: Int { allocated.load(ordering: .relaxed) }

    /// A list setting as C strings, built on first use and kept until the context goes.
    func list(_ key: String, _ items: [String]) -> (UnsafePointer<UnsafePointer<CChar>?>, Int) {
        lock.withLock {
            if let built = lists[key] { return (UnsafePointer(built.0), built.1) }
            let array = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(items.count, 1))
            for (index, item) in items.enumerated() { array[index] = UnsafePointer(strdup(item)) }
            lists[key] = (array, items.count)
            return (UnsafePointer(array), items.count)
        }
    }

    /// The store behind "cairn.store", opened on first use and kept for the instance's life.
    func store() throws -> any ObjectStore {
        try lock.withLock {
            if let openedStore { return openedStore }
            guard let _storeProvider else { throw CairnError.usage("this instance has no store") }
            let store = try _storeProvider()
            openedStore = store
            return store
        }
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> PluginContext? {
        pointer.map { Unmanaged<PluginContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// The callback a plugin registers with `set_interrupt` (cairn_plugin.h): called at most once per
/// registration when the run is cancelled. It runs under `lock`, so replacing or removing it waits
/// for a running call and the plugin may free its data as soon as set_interrupt returns.
final class InterruptSlot: @unchecked Sendable {
    typealias Callback = @convention(c) (UnsafeMutableRawPointer?) -> Void
    // @unchecked: every field is read and written under `lock`.
    private let lock = NSLock()
    private var callback: Callback?
    private var data: UnsafeMutableRawPointer?
    private var generation = 0
    private var registration: CancellationHandle?

    func set(_ callback: Callback?, _ data: UnsafeMutableRawPointer?, cancellation: Cancellation) {
        let current: Int = lock.withLock {
            registration?.invalidate()
            registration = nil
            self.callback = callback
            self.data = data
            generation += 1
            return generation
        }
        guard callback != nil else { return }
        // Already cancelled: called at once, on this thread, before set_interrupt returns.
        if cancellation.isCancelled { return fire(current) }
        // Later, on a thread of its own: the thread that cancels (the signal listener, a step's
        // deadline) must not wait on a plugin's callback, or a second Ctrl-C could not quit.
        let handle = cancellation.onCancel { [weak self] in
            guard let self else { return }
            Thread { self.fire(current) }.start()
        }
        lock.withLock {
            if generation == current { registration = handle } else { handle.invalidate() }
        }
    }

    private func fire(_ expected: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard generation == expected, let callback else { return }
        self.callback = nil
        callback(data)
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
                context.noteService("log")
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
                guard let context = PluginContext.from(ctx) else { return }
                context.noteService("progress")
                context.progressHandler?(done, total, what.map { String(cString: $0) })
            },
            is_cancelled: { ctx in
                guard let context = PluginContext.from(ctx) else { return 0 }
                context.noteService("is_cancelled")
                return context.cancellation.isCancelled ? 1 : 0
            },
            config_get: { ctx, key in
                guard let context = PluginContext.from(ctx), let key else { return nil }
                context.noteService("config_get")
                return context.setting(String(cString: key))
            },
            secret_get: { ctx, key in
                guard let context = PluginContext.from(ctx), let key else { return nil }
                context.noteService("secret_get")
                return context.secret(String(cString: key))
            },
            alloc: { ctx, size in
                if let context = PluginContext.from(ctx) {
                    context.noteService("alloc")
                    context.noteAllocation(size)
                }
                return malloc(size)
            },
            free: { _, pointer in free(pointer) },
            get_api: { ctx, name, version in
                guard let context = PluginContext.from(ctx), let name else { return nil }
                context.noteService("get_api")
                return StoreHostTable.lookup(context, name: String(cString: name), version: version)
            },
            temp_dir: { ctx in
                guard let context = PluginContext.from(ctx) else { return nil }
                context.noteService("temp_dir")
                return context.tempDirectoryPath
            },
            // ---- since 1.1 ----
            config_int: { ctx, key, out, err in
                TypedSetting.get(ctx, key, err, service: "config_int", expected: "a whole number", TypedSetting.int) { value, _, _ in
                    out?.pointee = value
                }
            },
            config_bool: { ctx, key, out, err in
                TypedSetting.get(ctx, key, err, service: "config_bool", expected: "true or false", TypedSetting.bool) { value, _, _ in
                    out?.pointee = value ? 1 : 0
                }
            },
            config_duration_ms: { ctx, key, out, err in
                TypedSetting.get(ctx, key, err, service: "config_duration_ms", expected: "a positive duration such as 250ms, 30s, 5m or 1h30m",
                                 TypedSetting.milliseconds) { value, _, _ in out?.pointee = value }
            },
            config_list: { ctx, key, items, count, err in
                TypedSetting.get(ctx, key, err, service: "config_list", expected: "a list", TypedSetting.list) { list, context, name in
                    let (array, n) = context.list(name, list)
                    items?.pointee = array
                    count?.pointee = n
                }
            },
            set_interrupt: { ctx, callback, data in
                guard let context = PluginContext.from(ctx) else { return }
                context.noteService("set_interrupt")
                context.interrupt.set(callback, data, cancellation: context.cancellation)
            }
        ))
        return table
    }

    /// A table that lives only for `body`, as a native action's call does. The context is kept
    /// alive too: the table points at it without retaining it.
    static func withTable<R>(for context: PluginContext, _ body: (UnsafePointer<cairn_host_api>) throws -> R) rethrows -> R {
        let table = makeTable(for: context)
        defer {
            context.interrupt.set(nil, nil, cancellation: context.cancellation)
            table.deinitialize(count: 1)
            table.deallocate()
        }
        context.beginActivity()
        defer { context.endActivity() }
        return try withExtendedLifetime(context) { try body(table) }
    }
}
