import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import Foundation
import Logging

/// One opened instance of a plugin (`open` called, `close` pending). Component and storage
/// wrappers build on it.
public class PluginInstance: @unchecked Sendable {
    // @unchecked: an instance is used by one thread at a time (cairn_plugin.h, THREADING: the host
    // never calls one instance concurrently, CAIRN_CAP_THREAD_SAFE or not).
    public let plugin: LoadedPlugin
    /// The instance name from the config ("configs"); the plugin name for implicit instances.
    public let instanceName: String
    /// "directory:configs": plugin and instance name, used in every message.
    public let label: String
    let context: PluginContext
    private let hostTable: UnsafeMutablePointer<cairn_host_api>
    private(set) var handle: UnsafeMutableRawPointer?
    private var closed = false

    public init(plugin: LoadedPlugin, instanceName: String, settings: PluginSettings, logger: Logger,
         cancellation: Cancellation, tempDirectory: String) throws {
        self.plugin = plugin
        self.instanceName = instanceName
        self.label = instanceName == plugin.name ? plugin.name : "\(plugin.name):\(instanceName)"
        context = PluginContext(label: label, settings: settings, logger: logger, cancellation: cancellation,
                                tempDirectory: tempDirectory)
        hostTable = HostServices.makeTable(for: context)
        var opened: UnsafeMutableRawPointer?
        let table = UnsafePointer(hostTable)
        do {
            try call("open") { err in plugin.descriptor.pointee.open(table, &opened, err) }
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
        plugin.descriptor.pointee.close(handle)
        context.endActivity()
        hostTable.deinitialize(count: 1)
        hostTable.deallocate()
    }

    /// Runs one plugin operation and turns a failure into a thrown error.
    func call(_ operation: String, box: ErrorBox = ErrorBox(), _ body: (UnsafePointer<cairn_error>) -> cairn_status) throws {
        context.beginActivity()
        let status = box.withCStruct(body)
        context.endActivity()
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
