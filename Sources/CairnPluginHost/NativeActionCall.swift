import CairnCore
import CairnArchive
import CairnInterfaces
import CCairnPlugin
import CairnPluginIPC
import CFFI
import Foundation
import Logging

extension NativeAction {
    /// Calls the exported function through `ffi_call`: first the `cairn_host_api` table built for
    /// this call (config_get sees `settings`, log goes to `logger`), then the checked arguments.
    /// Returns the result as JSON: .null for void and for a NULL string; a string result is copied
    /// and then freed with the host allocator's `free`, as cairn_plugin.h promises the plugin.
    /// A plugin reports failure only through its return value (count_files' -1 is just -1); for
    /// int64/uint64 results beyond ±2^53 the JSON number is the nearest double.
    /// With `isolation: process` the call is made the same way in a worker started for it.
    public func call(arguments: [JSONValue], settings: PluginSettings, logger: Logger, cancellation: Cancellation,
                     temporaryDirectory: String, isolation: PluginIsolation? = nil) throws -> JSONValue {
        // Checked again here: the marshalling below relies on every value having its declared type.
        let values = try check(positional: arguments)
        guard let function = plugin.symbol(spec.symbol) else {
            throw CairnError.failure("action \(qualifiedName): symbol '\(spec.symbol)' is not exported by \(plugin.libraryURL.path)")
        }
        let context = PluginContext(label: plugin.name, settings: settings, logger: logger, cancellation: cancellation,
                                    tempDirectory: temporaryDirectory)
        let isolation = isolation ?? .default(for: plugin)
        let worker = isolation.mode == .process ? (isolation, context) : nil
        return try HostServices.withTable(for: context) { host in
            try ffiCall(function, host: host, values: values, worker: worker)
        }
    }

    private func ffiCall(_ function: UnsafeMutableRawPointer, host: UnsafePointer<cairn_host_api>,
                         values: [JSONValue], worker: (PluginIsolation, PluginContext)?) throws -> JSONValue {
        let count = values.count + 1
        // Every C type an action takes fits one 8-byte, 8-aligned slot. libffi reads the arguments
        // through `avalues` during ffi_call, so all of this lives until the function returns.
        let slotSize = 8
        let slots = UnsafeMutableRawPointer.allocate(byteCount: slotSize * count, alignment: 8)
        let types = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: count)
        let avalues = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: count)
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        // A small integer result is widened to a whole ffi_arg (libffi's rule), so the buffer must
        // hold at least one.
        let resultSize = max(MemoryLayout<ffi_arg>.size, 8)
        let result = UnsafeMutableRawPointer.allocate(byteCount: resultSize, alignment: max(MemoryLayout<ffi_arg>.alignment, 8))
        var strings: [UnsafeMutablePointer<CChar>] = []
        defer {
            strings.forEach { free($0) }
            result.deallocate()
            cif.deallocate()
            avalues.deallocate()
            types.deallocate()
            slots.deallocate()
        }
        result.initializeMemory(as: UInt8.self, repeating: 0, count: resultSize)

        types[0] = cairn_ffi_type_pointer()
        slots.storeBytes(of: UnsafeRawPointer(host), as: UnsafeRawPointer.self)
        avalues[0] = slots
        for (offset, (type, value)) in zip(parameterTypes, values).enumerated() {
            let index = offset + 1
            let slot = slots + index * slotSize
            types[index] = type.ffiType
            avalues[index] = slot
            switch (type, value) {
            case (.string, .string(let text)):
                guard let copy = strdup(text) else { throw CairnError.failure("action \(qualifiedName): out of memory") }
                strings.append(copy)
                slot.storeBytes(of: UnsafeRawPointer(copy), as: UnsafeRawPointer.self)
            case (.bool, .bool(let flag)): slot.storeBytes(of: Int32(flag ? 1 : 0), as: Int32.self)
            case (.int32, .number(let n)): slot.storeBytes(of: Int32(n), as: Int32.self)
            case (.uint32, .number(let n)): slot.storeBytes(of: UInt32(n), as: UInt32.self)
            case (.int64, .number(let n)): slot.storeBytes(of: Int64(n), as: Int64.self)
            case (.uint64, .number(let n)): slot.storeBytes(of: UInt64(n), as: UInt64.self)
            case (.double, .number(let n)): slot.storeBytes(of: n, as: Double.self)
            default:
                throw failure("parameter '\(spec.parameters[offset].name)' cannot take \(value.jsonText)")
            }
        }

        if let (isolation, context) = worker {
            try callInWorker(host: host, slots: slots, result: result, isolation: isolation, context: context)
        } else {
            let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(count), returnType?.ffiType ?? cairn_ffi_type_void(), types)
            guard status == FFI_OK else {
                throw CairnError.failure("action \(qualifiedName): libffi cannot prepare the call \(signature) (ffi_status \(status.rawValue))")
            }
            ffi_call(cif, unsafeBitCast(function, to: (@convention(c) () -> Void).self), result, avalues)
        }

        switch returnType {
        case nil: return .null
        // Signed results narrower than ffi_arg arrive sign-extended in an ffi_sarg, unsigned ones
        // zero-extended in an ffi_arg: read the whole word, then narrow.
        case .bool: return .bool(Int32(truncatingIfNeeded: result.load(as: ffi_sarg.self)) != 0)
        case .int32: return .number(Double(Int32(truncatingIfNeeded: result.load(as: ffi_sarg.self))))
        case .uint32: return .number(Double(UInt32(truncatingIfNeeded: result.load(as: ffi_arg.self))))
        case .int64: return .number(Double(result.load(as: Int64.self)))
        case .uint64: return .number(Double(result.load(as: UInt64.self)))
        case .double: return .number(result.load(as: Double.self))
        case .string:
            guard let text = result.load(as: UnsafeMutablePointer<CChar>?.self) else { return .null }
            defer { host.pointee.free?(host.pointee.host_ctx, text) }
            return .string(String(cString: text))
        }
    }
}

extension NativeAction {
    /// The same call in a worker: the arguments' slots as they are laid out here, the result's
    /// bits (or a string result, copied into memory `host->free` releases) written back to `result`.
    private func callInWorker(host: UnsafePointer<cairn_host_api>, slots: UnsafeMutableRawPointer, result: UnsafeMutableRawPointer,
                              isolation: PluginIsolation, context: PluginContext) throws {
        let codes = parameterTypes.map(\.actionType)
        let bits = parameterTypes.indices.map { (slots + ($0 + 1) * 8).load(as: UInt64.self) }
        let strings: [UnsafePointer<CChar>?] = parameterTypes.indices.map {
            parameterTypes[$0] == .string ? (slots + ($0 + 1) * 8).load(as: UnsafePointer<CChar>?.self) : nil
        }
        var bitsOut: UInt64 = 0
        var text: UnsafeMutablePointer<CChar>?
        let box = ErrorBox()
        let status = WorkerSpec.with(plugin: plugin, label: "plugin \(plugin.name)", isolation: isolation, context: context) { workerSpec in
            box.withCStruct { err in
                cairn_proxy_call_action(workerSpec, host, self.spec.symbol, returnType?.actionType ?? CAIRN_ACTION_VOID, UInt32(codes.count),
                                        codes, bits, strings, &bitsOut, &text, err)
            }
        }
        guard status == CAIRN_OK else {
            throw CairnError.failure("action \(qualifiedName): \(box.message ?? "the worker gave no reason")")
        }
        if returnType == .string { result.storeBytes(of: text, as: UnsafeMutablePointer<CChar>?.self) } else {
            result.storeBytes(of: bitsOut, as: UInt64.self)
        }
    }
}

extension NativeType {
    var actionType: cairn_action_type {
        switch self {
        case .bool, .int32: return CAIRN_ACTION_INT32
        case .uint32: return CAIRN_ACTION_UINT32
        case .int64: return CAIRN_ACTION_INT64
        case .uint64: return CAIRN_ACTION_UINT64
        case .double: return CAIRN_ACTION_DOUBLE
        case .string: return CAIRN_ACTION_STRING
        }
    }

    /// The libffi type of the C parameter or result; "bool" is a C int (cairn_plugin.h).
    var ffiType: UnsafeMutablePointer<ffi_type> {
        switch self {
        case .bool, .int32: return cairn_ffi_type_sint32()
        case .uint32: return cairn_ffi_type_uint32()
        case .int64: return cairn_ffi_type_sint64()
        case .uint64: return cairn_ffi_type_uint64()
        case .double: return cairn_ffi_type_double()
        case .string: return cairn_ffi_type_pointer()
        }
    }
}
