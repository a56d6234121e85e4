import CCairnPlugin
import CairnPluginHTTP
import Glibc

extension S3Store {
    /// CreateMultipartUpload; returns the UploadId. When its answer was lost and the request sent
    /// again, S3 may have opened an upload for each attempt it carried out: those of this key
    /// started between the first attempt and the answer are aborted, the answered one kept, so no
    /// upload stays open (and billed) after the backup. Always looked for, one listing per
    /// upload: libcurl itself sends a request again when a reused connection dies before the
    /// answer, so our own attempt count cannot tell.
    func startUpload(key: String, headers: [(String, String)], what: String) throws(S3Error) -> String {
        let startedMs = Self.monotonicMilliseconds()
        let response = try client.send("POST", key: key, query: [("uploads", "")], headers: headers, what: what)
        guard let id = XML.first("UploadId", in: response.text), !id.isEmpty else {
            throw S3Error(CAIRN_IO, "\(what) s3://\(client.bucket)/\(key): no UploadId in the answer")
        }
        // The window is measured on the server's clock (its Date header), so the two clocks need
        // not agree; a second's slack on each side covers the header's whole seconds.
        if let answeredMs = response.headers["date"].map(S3Time.httpDateMilliseconds), answeredMs > 0 {
            let elapsedMs = Self.monotonicMilliseconds() - startedMs
            abortLeftoverUploads(key: key, keeping: id, from: answeredMs - elapsedMs - 1000, to: answeredMs + 1000)
        }
        return id
    }

    /// Best effort: a failure is logged, as the backup itself is not harmed by it.
    private func abortLeftoverUploads(key: String, keeping kept: String, from: Int64, to: Int64) {
        do throws(S3Error) {
            for upload in try openUploads(prefix: key)
            where upload.key == key && upload.id != kept && (from...to).contains(upload.initiatedMs) {
                abortUpload(key: key, uploadID: upload.id)
                client.log(CAIRN_LOG_INFO, "aborted upload \(upload.id) of s3://\(client.bucket)/\(key): a retried "
                           + "CreateMultipartUpload opened it and its answer was lost")
            }
        } catch {
            client.log(CAIRN_LOG_WARNING, "\(error.message); an upload a retried CreateMultipartUpload opened may stay "
                       + "open until a lifecycle rule (AbortIncompleteMultipartUpload) or abort_stale_uploads removes it")
        }
    }

    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
