import CCairnPlugin
import CairnPluginSupport

extension S3Store {
    /// Aborts every incomplete multipart upload under `prefix` started more than `olderThan`
    /// seconds ago (ListMultipartUploads, paged, then AbortMultipartUpload each). Returns how many
    /// were aborted. Uploads of a backup still running are younger than any sensible age.
    func abortStaleUploads(prefix: String, olderThan seconds: Int64) throws(S3Error) -> Int64 {
        let cutoffMs = (now() - seconds) * 1000
        var aborted: Int64 = 0
        for upload in try openUploads(prefix: prefix) where upload.initiatedMs < cutoffMs {
            if client.cancelled { throw S3Error(CAIRN_CANCELLED, "abort_stale_uploads: cancelled after \(aborted) uploads") }
            _ = try client.send("DELETE", key: upload.key, query: [("uploadId", upload.id)],
                                what: "abort stale upload \(upload.id) of", accept: [404])
            client.log(CAIRN_LOG_INFO, "aborted incomplete upload \(upload.id) of s3://\(client.bucket)/\(upload.key), "
                       + "started \(upload.initiated)")
            aborted += 1
        }
        return aborted
    }

    struct OpenUpload {
        var key: String
        var id: String
        var initiated: String
        var initiatedMs: Int64
    }

    /// Every incomplete multipart upload under `prefix` (ListMultipartUploads, paged).
    func openUploads(prefix: String) throws(S3Error) -> [OpenUpload] {
        var found: [OpenUpload] = []
        var keyMarker: String?
        var uploadIDMarker: String?
        repeat {
            var query = [("uploads", "")]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let uploadIDMarker { query.append(("upload-id-marker", uploadIDMarker)) }
            let response = try client.send("GET", key: nil, query: query, what: "list incomplete uploads under '\(prefix)' in")
            let text = response.text[...]
            for upload in XML.elements("Upload", in: text) {
                guard let key = XML.first("Key", in: upload), let id = XML.first("UploadId", in: upload),
                      let initiated = XML.first("Initiated", in: upload) else { continue }
                found.append(OpenUpload(key: key, id: id, initiated: initiated, initiatedMs: S3Time.iso8601Milliseconds(initiated)))
            }
            let truncated = XML.first("IsTruncated", in: text) == "true"
            keyMarker = truncated ? XML.first("NextKeyMarker", in: text) : nil
            uploadIDMarker = truncated ? XML.first("NextUploadIdMarker", in: text) : nil
            if truncated && keyMarker == nil {
                throw S3Error(CAIRN_IO, "list incomplete uploads in bucket '\(client.bucket)': a truncated page without NextKeyMarker")
            }
        } while keyMarker != nil
        return found
    }
}

/// Native action `abort_stale_uploads(prefix, older_than_seconds) -> int64`: the number of
/// incomplete multipart uploads aborted, or -1 on failure (the reason goes to the log). Used by
/// retention to sweep uploads a crashed run left behind.
@_cdecl("cairn_s3_abort_stale_uploads")
public func cairnS3AbortStaleUploads(_ host: UnsafePointer<cairn_host_api>?, _ prefix: UnsafePointer<CChar>?,
                                     _ olderThanSeconds: Int64) -> Int64 {
    guard let host else { return -1 }
    func fail(_ message: String) -> Int64 {
        if let log = host.pointee.log { message.withCString { log(host.pointee.host_ctx, CAIRN_LOG_ERROR, $0) } }
        return -1
    }
    guard olderThanSeconds >= 0 else {
        return fail("abort_stale_uploads: older_than_seconds must be 0 or more, not \(olderThanSeconds)")
    }
    let prefixText = prefix.flatMap { String(validatingCString: $0) } ?? ""
    do throws(S3Error) {
        return try S3Store.open(host: host).abortStaleUploads(prefix: prefixText, olderThan: olderThanSeconds)
    } catch {
        return fail("abort_stale_uploads: \(error.message)")
    }
}
