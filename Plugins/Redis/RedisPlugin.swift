import CCairnPlugin
import CairnPluginSupport

/// The plugin's entry point. The host passes its ABI version and gets the descriptor, which lives
/// (with everything it points to) for the life of the process.
@_cdecl("cairn_plugin_entry_v1")
public func cairnPluginEntryV1(_ major: UInt32, _ minor: UInt32) -> UnsafePointer<cairn_plugin>? {
    PluginDescriptor.offer(pluginDescriptor, toHostMajor: major)
}

/// Built once, on first use, and never freed: the host may hold these pointers until exit.
private nonisolated(unsafe) let pluginDescriptor = PluginDescriptor.component(
    name: "redis", version: "1.0.0", table: componentTable(),
    open: { host, instance, err in
        InstanceHandle.open(host, instance, err) { host throws(RedisError) in try RedisComponent(host: host) }
    },
    close: { InstanceHandle.close($0, as: RedisComponent.self) })

/// The `cairn_component_api` table: each entry finds the component behind the instance handle and
/// turns a thrown error into a status and a message.
private func componentTable() -> cairn_component_api {
    var api = cairn_component_api()
    api.check = { instance, report, err in
        PluginError.run(err) { () throws(RedisError) in try redis(instance).check(CheckReport(report)) }
    }
    api.backup = { instance, request, sink, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let request, let sink else { throw RedisError(CAIRN_INVALID, "backup: no request or sink given") }
            let options = request.pointee.options_json.flatMap { String(validatingCString: $0) } ?? "{}"
            try redis(instance).backup(options: options, sink: EntrySink(sink))
        }
    }
    api.verify = { instance, source, report, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let source else { throw RedisError(CAIRN_INVALID, "verify: no entry source given") }
            try redis(instance).verify(source: EntrySource(source), report: CheckReport(report))
        }
    }
    api.restore = { instance, request, source, report, err in
        PluginError.run(err) { () throws(RedisError) in
            guard let request, let source, let target = request.pointee.target.flatMap({ String(validatingCString: $0) }) else {
                throw RedisError(CAIRN_INVALID, "restore: no request, target or entry source given")
            }
            let options = request.pointee.options_json.flatMap { String(validatingCString: $0) } ?? "{}"
            try redis(instance).restore(target: target, options: options, source: EntrySource(source), report: CheckReport(report))
        }
    }
    return api
}

private func redis(_ instance: UnsafeMutableRawPointer?) throws(RedisError) -> RedisComponent {
    try InstanceHandle.object(instance, as: RedisComponent.self, what: "Redis")
}
