import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import CairnPluginIPC
import Foundation
import Logging

/// One opened instance of a plugin (`open` called, `close` pending). Component and storage
/// wrappers build on it. With `isolation: process` the instance lives in a worker process and the
/// tables it is called through forward each call there (cairn_ipc.h); the wrappers cannot tell.
public class PluginInstance: @unchecked Sendable {
    // @unchecked: an instance is used by one thread at a time (cairn_plugin.h, THREADING: the host
    // never calls one instance concurrently, CAIRN_CAP_THREAD_SAFE or not).
    public let plugin: LoadedPlugin
    /// The instance name from the config ("configs"); the plugin name for implicit instances.
    public let instanceName: String
    /// "directory:configs": plugin and instance name, used in every message.
    public let label: String
    public let isolation: PluginIsolation
    let context: PluginContext
    /// The tables calls go through: the plugin's own, or the worker's forwarding ones.
    let componentTable: UnsafePointer<cairn_component_api>?
    let storageTable: UnsafePointer<cairn_storage_api>?
    private let hostTable: UnsafeMutablePointer<cairn_host_api>
    private(set) var handle: UnsafeMutableRawPointer?
    private var closed = false

    public init(plugin: LoadedPlugin, instanceName: String, settings: PluginSettings, logger: Logger,
         cancellation: Cancellation, tempDirectory: String, isolation: PluginIsolation? = nil) throws {
        self.plugin = plugin
        self.instanceName = instanceName
        self.label = instanceName == plugin.name ? plugin.name : "\(plugin.name):\(instanceName)"
        let isolation = isolation ?? .default(for: plugin)
        self.isolation = isolation
        let inWorker = isolation.mode == .process
        componentTable = inWorker ? plugin.workerComponent : plugin.component
        storageTable = inWorker ? plugin.workerStorage : plugin.storage
        context = PluginContext(label: label, settings: settings, logger: logger, cancellation: cancellation,
                                tempDirectory: tempDirectory)
        hostTable = HostServices.makeTable(for: context)
        var opened: UnsafeMutableRawPointer?
        let table = UnsafePointer(hostTable)
        do {
            if inWorker {
                guard plugin.origin != PluginLoader.linkedOrigin else {
                    throw CairnError.usage("plugin \(plugin.name) is compiled into this program and cannot run in a worker; set isolation: in-process")
                }
                try openInWorker(table, &opened)
            } else {
                try call("open") { err in plugin.descriptor.pointee.open(table, &opened, err) }
            }
        } catch {
            // Every stored property is set by now, so deinit still runs for this failed init:
            // mark the instance closed or close() would free the table a second time.
            closed = true
            hostTable.deinitialize(count: 1)
            hostTable.deallocate()
            // `open` reads the settings and contacts nothing (cairn_plugin.h): CAIRN_INVALID there
            // is a value the operator fixes in the configuration, not a failure of the source.
            if let call = error as? PluginCallError, call.isInvalid {
                throw CairnError.usage((settings.origin(ofSettingNamedIn: call.message).map { "\($0): " } ?? "") + call.description)
            }
            throw error
        }
        handle = opened
    }

    /// Starts the worker and opens the instance in it. Its stdout and stderr (a crash's backtrace)
    /// go to the run log, not the terminal.
    private func openInWorker(_ table: UnsafePointer<cairn_host_api>, _ opened: inout UnsafeMutableRawPointer?) throws {
        let box = ErrorBox()
        let who = "plugin \(plugin.name)" + (instanceName == plugin.name ? "" : " (instance \(instanceName))")
        // `open` is a call: the settings the plugin reads during it are no stray service calls.
        context.beginActivity()
        let status = WorkerSpec.with(plugin: plugin, label: who, isolation: isolation, context: context) { spec in
            box.withCStruct { err in cairn_proxy_open(spec, table, &opened, err) }
        }
        context.endActivity()
        guard status == CAIRN_OK else {
            throw PluginCallError(label: label, operation: "open", status: Int32(status.rawValue), message: box.message ?? "the worker gave no reason")
        }
        context.logger.info("\(who) runs in worker process \(cairn_proxy_pid(opened))", metadata: ["plugin": .string(label)])
    }

    deinit { close() }

    /// Host services the plugin called while no call of this instance was under way (and no
    /// storage writer or reader was open): threads it left running. Empty for a plugin that keeps
    /// cairn_plugin.h's THREADING rule.
    public var strayServiceCalls: [String] { context.strayServiceCalls }

    public func close() {
        guard !closed else { return }
        closed = true
        context.interrupt.set(nil, nil, cancellation: context.cancellation)  // never called during or after close
        context.beginActivity()
        if isolation.mode == .process { cairn_proxy_close(handle) } else { plugin.descriptor.pointee.close(handle) }
        context.endActivity()
        hostTable.deinitialize(count: 1)
        hostTable.deallocate()
    }

    /// The worker process serving the instance; nil inside cairn.
    var workerPID: pid_t? {
        guard isolation.mode == .process, let handle else { return nil }
        return cairn_proxy_pid(handle)
    }

    /// Why the instance's worker is gone ("plugin sqlite crashed (SIGSEGV) during backup"), if it is.
    var workerFailure: String? {
        guard isolation.mode == .process, let handle, let text = cairn_proxy_failure(handle) else { return nil }
        return String(cString: text)
    }

    /// Runs one plugin operation and turns a failure into a thrown error.
    func call(_ operation: String, box: ErrorBox = ErrorBox(), _ body: (UnsafePointer<cairn_error>) -> cairn_status) throws {
        // A worker is stopped by its proxy; a plugin inside cairn can only be waited on, and named.
        context.beginActivity()
        let status = isolation.mode == .process ? box.withCStruct(body)
            : InProcessWatch.shared.watch(context, operation, grace: isolation.cancelGrace) { box.withCStruct(body) }
        context.endActivity()
        // A dead worker is the cause, whatever the host's callbacks saw after it.
        if status != CAIRN_OK, let failure = workerFailure { throw CairnError.failure(failure) }
        if let hostError = box.hostError { throw hostError }
        guard status == CAIRN_OK else {
            throw PluginCallError(label: label, operation: operation, status: Int32(status.rawValue),
                                  message: box.message ?? PluginCallError.noReason)
        }
    }

    /// Wraps an operation that reports checks.
    func report(_ operation: String, _ body: (UnsafePointer<cairn_report>, UnsafePointer<cairn_error>) -> cairn_status) throws -> [CheckResult] {
        let reportBox = ReportBox(source: label)
        try reportBox.withCStruct { report in
            try call(operation) { err in body(report, err) }
        }
        return reportBox.results
    }

    func withProgress<R>(_ handler: (@Sendable (UInt64, UInt64, String?) -> Void)?, _ body: () throws -> R) rethrows -> R {
        context.progressHandler = handler
        defer { context.progressHandler = nil }
        return try body()
    }
}
