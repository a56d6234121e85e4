import CairnCore
import CairnOperations
import CCurl
import Foundation
import Logging

/// After every run: Cairn's metrics (docs/monitoring.md) to a node_exporter textfile and/or a
/// Prometheus Pushgateway. A failed export is a warning; it never changes how the run ended.
struct MetricsExport {
    let workspace: Workspace
    /// The .prom file the textfile collector reads; replaced whole (rename), never half-written.
    var textfile: String?
    /// Base URL of a Pushgateway, e.g. http://pushgateway:9091.
    var pushgateway: String?
    var job = "cairn"

    var isEnabled: Bool { textfile != nil || pushgateway != nil }

    /// cairn.yaml's `metrics:`, with CAIRN_METRICS_TEXTFILE and CAIRN_METRICS_PUSHGATEWAY over it.
    init(_ workspace: Workspace) {
        self.workspace = workspace
        let settings = workspace.config.metrics
        textfile = workspace.environment["CAIRN_METRICS_TEXTFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.textfile
        pushgateway = workspace.environment["CAIRN_METRICS_PUSHGATEWAY"].flatMap { $0.isEmpty ? nil : $0 } ?? settings.pushgateway
        job = settings.job
    }

    func export() {
        guard isEnabled else { return }
        let logger = workspace.scope.logger
        let text: String
        do {
            text = try MetricsReport(state: try workspace.openState(), version: BackupService.toolVersion).exposition
        } catch {
            return logger.warning("metrics not written: \(describe(error))")
        }
        if let textfile {
            do { try Self.replace(textfile, with: text) } catch {
                logger.warning("metrics: cannot write \(textfile): \(describe(error)); check that its folder exists and is writable")
            }
        }
        if let pushgateway {
            let url = "\(pushgateway.hasSuffix("/") ? String(pushgateway.dropLast()) : pushgateway)/metrics/job/\(job)/instance/\(ProcessInfo.processInfo.hostName)"
            if let problem = Self.put(text, to: url) { logger.warning("metrics: push to \(pushgateway) failed: \(problem)") }
        }
    }

    static func replace(_ path: String, with text: String) throws {
        let temporary = "\(path).\(getpid()).tmp"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CairnError.failure(reason)
        }
    }

    /// PUT replaces this instance's whole group on the Pushgateway: what is pushed is the full state.
    /// Returns nil on success, else what went wrong.
    static func put(_ text: String, to url: String) -> String? {
        guard let handle = curl_easy_init() else { return "curl_easy_init failed" }
        defer { curl_easy_cleanup(handle) }
        let headers = curl_slist_append(nil, "Content-Type: text/plain; version=0.0.4")
        defer { curl_slist_free_all(headers) }
        var body = Array(text.utf8)
        return body.withUnsafeMutableBytes { bytes -> String? in
            _ = cairn_curl_setopt_string(handle, CURLOPT_URL, url)
            _ = cairn_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "PUT")
            _ = cairn_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
            _ = cairn_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress)
            _ = cairn_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
            _ = cairn_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = cairn_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, 10)
            _ = cairn_curl_setopt_long(handle, CURLOPT_TIMEOUT, 30)
            _ = cairn_curl_setopt_function(handle, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
            let code = curl_easy_perform(handle)
            guard code == CURLE_OK else { return String(cString: curl_easy_strerror(code)) }
            var status = 0
            _ = cairn_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return (200..<300).contains(status) ? nil : "HTTP \(status)"
        }
    }
}
