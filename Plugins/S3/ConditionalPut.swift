import CCairnPlugin
import CairnPluginSupport
import Glibc

/// `put_if` (ABI 1.1): S3's conditional writes, `If-None-Match: *` to create only what does not
/// exist and `If-Match: <etag>` to replace only what has not changed. Locks in the store are
/// built on them.
extension S3Store {
    /// The new object's facts, or nil when S3 answered that the condition did not hold.
    func putIf(_ key: String, _ data: UnsafeRawBufferPointer, ifVersion: String?) throws(S3Error) -> ObjectInfo? {
        let condition = ifVersion.map { ("if-match", $0) } ?? ("if-none-match", "*")
        // 412 Precondition Failed: the condition did not hold. 409 ConditionalRequestConflict:
        // another conditional write of the key was in flight; it won. 404 to If-Match: the
        // object is gone, so it is not the version asked for either.
        // The checksum also lets S3 take the PUT on a bucket with a default Object Lock retention,
        // which refuses an upload without Content-MD5 or a checksum header.
        let checksum = checksums
            ? [("x-amz-sdk-checksum-algorithm", "CRC32"), ("x-amz-checksum-crc32", S3Checksum.crc32(data))] : []
        let response = try client.send("PUT", key: key, headers: writeHeaders + checksum + [condition], body: data,
                                       what: ifVersion == nil ? "create if absent" : "replace if unchanged",
                                       accept: ifVersion == nil ? [409, 412] : [404, 409, 412])
        guard (200..<300).contains(response.status) else { return nil }
        return ObjectInfo(key: key, size: UInt64(data.count), modifiedMs: now() * 1000,
                          etag: response.headers["etag"])
    }
}
