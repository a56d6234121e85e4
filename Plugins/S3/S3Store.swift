import CCairnPlugin
import CairnPluginHTTP
import CairnPluginSupport
import Glibc

/// One configured bucket. Keys are used exactly as the host gives them.
final class S3Store {
    let client: S3Client
    let partSize: Int
    let multipartThreshold: Int
    /// Part buffers of one upload held at once, and parts uploading at once (one connection each).
    let partsInFlight: Int
    /// Above this size latest.tar.gz is made with a multipart copy (UploadPartCopy): a single
    /// CopyObject is limited to 5 GiB.
    let multipartCopyThreshold: Int
    /// Extra headers for every object written: server-side encryption and storage class.
    let writeHeaders: [(String, String)]
    /// Whether uploads carry a CRC32 for the store to check (setting `checksum`).
    let checksums: Bool
    /// Setting `object_lock`: the retention every object written by a writer or a copy gets.
    let objectLock: ObjectLock?
    /// The Object Lock headers for an object written now (none without `object_lock`).
    var lockHeaders: [(String, String)] { objectLock?.headers(now: now()) ?? [] }
    /// A CopyObject names the checksum algorithm as the SDKs do, as a PUT does: moto (like S3 for
    /// uploads) refuses a retention date, ours or the bucket's default, without Content-MD5 or it.
    var copyLockHeaders: [(String, String)] {
        lockHeaders + (checksums ? [("x-amz-sdk-checksum-algorithm", "CRC32")] : [])
    }
    /// For requests after which S3 computes the checksum itself: a multipart upload (a composite of
    /// the parts' CRC32s) and a CopyObject (the copy's whole-object CRC32; without it a copy of a
    /// multipart object can inherit the composite value, and moto then serves it as a whole-object
    /// CRC32 that clients validating downloads, botocore by default, reject).
    var checksumAlgorithmHeader: [(String, String)] { checksums ? [("x-amz-checksum-algorithm", "CRC32")] : [] }
    static let minimumPartSize = 5 << 20
    static let maximumParts = 10_000
    static let maximumCopySize = 5 << 30

    init(client: S3Client, partSize: Int, multipartThreshold: Int, partsInFlight: Int, multipartCopyThreshold: Int,
         writeHeaders: [(String, String)], checksums: Bool, objectLock: ObjectLock? = nil) {
        self.client = client
        self.partSize = partSize
        self.multipartThreshold = multipartThreshold
        self.partsInFlight = partsInFlight
        self.multipartCopyThreshold = multipartCopyThreshold
        self.writeHeaders = writeHeaders
        self.checksums = checksums
        self.objectLock = objectLock
    }

    /// One client per upload thread, each with its own curl handle; the first is the store's.
    func uploadClients() throws(S3Error) -> [S3Client] {
        var clients = [client]
        while clients.count < partsInFlight {
            guard let sibling = client.sibling() else { throw S3Error(CAIRN_ERROR, "libcurl could not create a handle") }
            clients.append(sibling)
        }
        return clients
    }

    /// Reads and checks the settings; every problem is a CAIRN_INVALID naming the setting.
    static func open(host: UnsafePointer<cairn_host_api>) throws(S3Error) -> S3Store {
        func setting(_ key: String, secret: Bool = false) throws(S3Error) -> String? {
            let get = secret ? host.pointee.secret_get : host.pointee.config_get
            guard let get, let value = get(host.pointee.host_ctx, key) else { return nil }
            guard let text = String(validatingCString: value) else {
                throw S3Error(CAIRN_INVALID, "setting '\(key)' is not valid UTF-8")
            }
            return CredentialChain.nonEmpty(text)
        }
        func size(_ key: String, default fallback: Int, minimum: Int) throws(S3Error) -> Int {
            guard let text = try setting(key) else { return fallback }
            guard let value = Self.parseSize(text), value >= minimum else {
                throw S3Error(CAIRN_INVALID, "setting '\(key)' must be a byte count of at least \(minimum) "
                              + "(e.g. 16777216, 16MiB), not '\(text)'")
            }
            return value
        }

        guard let bucket = try setting("bucket") else {
            throw S3Error(CAIRN_INVALID, "setting 'bucket' is required (storage.bucket, S3_BUCKET or --bucket)")
        }
        let profile = try setting("profile")
        let keys = try CredentialChain.keys(accessKeyID: setting("access_key_id", secret: true),
                                                secretAccessKey: setting("secret_access_key", secret: true),
                                                sessionToken: setting("session_token", secret: true),
                                                profile: profile)
        let region = try setting("region") ?? keys?.profileRegion ?? "us-east-1"

        var scheme = "https", endpointHost = "s3.\(region).amazonaws.com", custom = false
        if let endpoint = try setting("endpoint") {
            guard let split = endpoint.range(of: "://") else {
                throw S3Error(CAIRN_INVALID, "setting 'endpoint' must be a URL like http://127.0.0.1:9000, not '\(endpoint)'")
            }
            scheme = endpoint[..<split.lowerBound].lowercased()
            endpointHost = String(endpoint[split.upperBound...].prefix { $0 != "/" })
            guard scheme == "http" || scheme == "https", !endpointHost.isEmpty else {
                throw S3Error(CAIRN_INVALID, "setting 'endpoint' must be an http:// or https:// URL, not '\(endpoint)'")
            }
            custom = true
        }
        let addressing = try setting("addressing") ?? "auto"
        let pathStyle: Bool
        switch addressing {
        case "path": pathStyle = true
        case "virtual": pathStyle = false
        // Custom endpoints (MinIO, Ceph, moto) rarely have wildcard DNS; dotted buckets break TLS.
        case "auto": pathStyle = custom || bucket.contains(".")
        default: throw S3Error(CAIRN_INVALID, "setting 'addressing' must be path, virtual or auto, not '\(addressing)'")
        }

        let attemptsText = try setting("max_attempts") ?? "5"
        guard let attempts = Int(attemptsText), (1...20).contains(attempts) else {
            throw S3Error(CAIRN_INVALID, "setting 'max_attempts' must be a whole number from 1 to 20, not '\(attemptsText)'")
        }
        let partSize = try size("part_size", default: 8 << 20, minimum: Self.minimumPartSize)
        let multipartThreshold = try size("multipart_threshold", default: 8 << 20, minimum: 0)
        let inFlightText = try setting("parts_in_flight") ?? "4"
        guard let partsInFlight = Int(inFlightText), (1...64).contains(partsInFlight) else {
            throw S3Error(CAIRN_INVALID, "setting 'parts_in_flight' must be a whole number from 1 to 64, not '\(inFlightText)'")
        }
        let copyThreshold = try size("multipart_copy_threshold", default: Self.maximumCopySize, minimum: 0)
        guard copyThreshold <= Self.maximumCopySize else {
            throw S3Error(CAIRN_INVALID, "setting 'multipart_copy_threshold' must be at most 5GiB (S3's limit for one "
                          + "CopyObject), not \(copyThreshold) bytes")
        }

        let checksum = try setting("checksum") ?? "crc32"
        guard checksum == "crc32" || checksum == "none" else {
            throw S3Error(CAIRN_INVALID, "setting 'checksum' must be crc32 or none, not '\(checksum)'")
        }

        let objectLock = try setting("object_lock").map { (text) throws(S3Error) in try ObjectLock.parse(text) }
        // S3 takes a locked upload only with Content-MD5 or an SDK checksum header, which only
        // checksum: crc32 sends.
        if objectLock != nil && checksum != "crc32" {
            throw S3Error(CAIRN_INVALID, "setting 'object_lock' needs checksum: crc32 (S3 refuses an object with a retention "
                          + "date unless the upload carries a checksum), not checksum: \(checksum)")
        }

        var headers: [(String, String)] = []
        if let sse = try setting("sse") {
            guard sse == "AES256" || sse == "aws:kms" else {
                throw S3Error(CAIRN_INVALID, "setting 'sse' must be AES256 or aws:kms, not '\(sse)'")
            }
            headers.append(("x-amz-server-side-encryption", sse))
            if let kms = try setting("kms_key_id") {
                guard sse == "aws:kms" else {
                    throw S3Error(CAIRN_INVALID, "setting 'kms_key_id' needs sse: aws:kms")
                }
                headers.append(("x-amz-server-side-encryption-aws-kms-key-id", kms))
            }
        }
        if let storageClass = try setting("storage_class") {
            headers.append(("x-amz-storage-class", storageClass))
        }
        guard let transport = HTTPTransport() else { throw S3Error(CAIRN_ERROR, "libcurl could not create a handle") }
        let stsHost = custom ? endpointHost : "sts.\(region).amazonaws.com"
        let credentials = try CredentialChain.provider(keys: keys, stsURL: "\(scheme)://\(stsHost)/", profile: profile)
        let client = S3Client(bucket: bucket, region: region, scheme: scheme, endpointHost: endpointHost,
                          pathStyle: pathStyle, maxAttempts: attempts, credentials: credentials, stsHost: stsHost,
                          transport: transport, host: host)
        client.log(CAIRN_LOG_DEBUG, "s3: bucket '\(bucket)' region \(region) at \(scheme)://\(endpointHost) "
                   + "(\(pathStyle ? "path" : "virtual-hosted") style), credentials from \(credentials.source)")
        return S3Store(client: client, partSize: partSize, multipartThreshold: multipartThreshold, partsInFlight: partsInFlight,
                       multipartCopyThreshold: copyThreshold, writeHeaders: headers, checksums: checksum == "crc32",
                       objectLock: objectLock)
    }

    /// "16777216", "16MiB", "16M", "64 MB" (binary units, as part sizes are usually meant).
    static func parseSize(_ text: String) -> Int? {
        let trimmed = text.filter { $0 != " " }
        let digits = trimmed.prefix { $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }

    static func validKey(_ pointer: UnsafePointer<CChar>?, role: String = "key") throws(S3Error) -> String {
        guard let pointer, let key = String(validatingCString: pointer), !key.isEmpty else {
            throw S3Error(CAIRN_INVALID, "the \(role) is missing or not valid UTF-8")
        }
        guard key.utf8.count <= 1024 else { throw S3Error(CAIRN_INVALID, "the \(role) '\(key)' is longer than S3's 1024 bytes") }
        // curl would resolve dot segments; S3 would not: refuse keys whose meaning differs.
        if key.hasPrefix("/") || key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) {
            throw S3Error(CAIRN_INVALID, "the \(role) '\(key)' has a leading '/' or a '.'/'..' segment")
        }
        return key
    }

    // MARK: Objects

    struct ObjectInfo {
        var key: String
        var size: UInt64
        var modifiedMs: Int64
        var etag: String?
        /// Object Lock: not to be destroyed before this (ms since the epoch; 0: not locked).
        var lockedUntilMs: Int64 = 0
    }

    func head(_ key: String) throws(S3Error) -> ObjectInfo {
        let response = try client.send("HEAD", key: key, what: "stat")
        let size = response.headers["content-length"].flatMap { UInt64($0) } ?? 0
        let modified = response.headers["last-modified"].map(S3Time.httpDateMilliseconds) ?? 0
        return ObjectInfo(key: key, size: size, modifiedMs: modified, etag: response.headers["etag"],
                          lockedUntilMs: Self.lockedUntilMs(response.headers))
    }

    /// One page of ListObjectsV2; hidden names (a segment starting with '.') are left out.
    func list(prefix: String, token: String?, maxKeys: Int) throws(S3Error) -> (objects: [ObjectInfo], next: String?) {
        var query = [("list-type", "2"), ("max-keys", String(maxKeys))]
        if !prefix.isEmpty { query.append(("prefix", prefix)) }
        if let token { query.append(("continuation-token", token)) }
        let response = try client.send("GET", key: nil, query: query, what: "list '\(prefix)' in")
        let text = response.text[...]
        var objects: [ObjectInfo] = []
        for entry in XML.elements("Contents", in: text) {
            guard let key = XML.first("Key", in: entry) else { continue }
            if key.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            objects.append(ObjectInfo(key: key, size: XML.first("Size", in: entry).flatMap { UInt64($0) } ?? 0,
                                      modifiedMs: XML.first("LastModified", in: entry).map(S3Time.iso8601Milliseconds) ?? 0,
                                      etag: XML.first("ETag", in: entry)))
        }
        let truncated = XML.first("IsTruncated", in: text) == "true"
        let next = truncated ? XML.first("NextContinuationToken", in: text) : nil
        if truncated && next == nil {
            throw S3Error(CAIRN_IO, "list '\(prefix)' in bucket '\(client.bucket)': a truncated page without NextContinuationToken")
        }
        return (objects, next)
    }

    /// CopyObject up to multipart_copy_threshold (atomic; S3 allows 5 GiB in one copy); above
    /// it a multipart copy, published just as atomically by CompleteMultipartUpload.
    /// The copy is marked with its source's key and ETag (user metadata), so a copy whose every
    /// answer was lost after S3 carried it out is still known to have published: see
    /// `holdsCopy`.
    func copy(from source: String, to destination: String) throws(S3Error) {
        let copySource = "/\(client.bucket)/\(SigV4Signer.uriEncode(source, keepSlash: true))"
        let info = try head(source)
        do throws(S3Error) {
            if info.size > UInt64(multipartCopyThreshold) {
                try multipartCopy(info, copySource: copySource, to: destination)
                return
            }
            _ = try client.send("PUT", key: destination,
                                headers: [("x-amz-copy-source", copySource), ("x-amz-metadata-directive", "REPLACE")]
                                    + copyMarker(info) + writeHeaders + checksumAlgorithmHeader + copyLockHeaders,
                                what: "copy s3://\(client.bucket)/\(source) to", errorIn200: true)
        } catch {
            guard holdsCopy(destination, of: info) else { throw error }
            client.log(CAIRN_LOG_WARNING, "\(error.message); but s3://\(client.bucket)/\(destination) now holds "
                       + "\(source) (same size, ETag \(info.etag ?? "none")): the copy was carried out and only its answer lost")
        }
    }

    /// User metadata naming the copy's source object; S3 returns it on HEAD.
    private func copyMarker(_ source: ObjectInfo) -> [(String, String)] {
        [("x-amz-meta-cairn-source", SigV4Signer.uriEncode(source.key, keepSlash: true)),
         ("x-amz-meta-cairn-source-etag", (source.etag ?? "").filter { $0 != "\"" })]
    }

    /// Whether `destination` holds a copy of exactly `source` (its key, ETag and size), as the
    /// marker of `copy` says. A HEAD that fails means it is not known to.
    private func holdsCopy(_ destination: String, of source: ObjectInfo) -> Bool {
        guard let response = try? client.send("HEAD", key: destination, what: "stat") else { return false }
        let marker = Dictionary(copyMarker(source), uniquingKeysWith: { first, _ in first })
        return marker.allSatisfy { response.headers[$0.key] == $0.value }
            && response.headers["content-length"].flatMap { UInt64($0) } == source.size
    }

    /// UploadPartCopy in at most about ten parts (each ≤ 5 GiB, ≥ part_size), every part pinned to
    /// the source's ETag so a source replaced mid-copy fails the copy instead of mixing objects.
    private func multipartCopy(_ source: ObjectInfo, copySource: String, to destination: String) throws(S3Error) {
        let what = "copy s3://\(client.bucket)/\(source.key) to"
        let size = Int(source.size)
        let piece = min(Self.maximumCopySize, max(partSize, (size + 9) / 10))
        let uploadID = try startUpload(key: destination, headers: writeHeaders + copyMarker(source) + lockHeaders,
                                       what: "start multipart copy to")
        do throws(S3Error) {
            var parts: [UploadedPart] = []
            var offset = 0
            while offset < size {
                if client.cancelled { throw S3Error(CAIRN_CANCELLED, "\(what) s3://\(client.bucket)/\(destination): cancelled") }
                let last = min(size, offset + piece) - 1
                var headers = [("x-amz-copy-source", copySource), ("x-amz-copy-source-range", "bytes=\(offset)-\(last)")]
                if let etag = source.etag { headers.append(("x-amz-copy-source-if-match", etag)) }
                let number = parts.count + 1
                let answer = try client.send("PUT", key: destination, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                                             headers: headers, what: "\(what) (part \(number))", errorIn200: true)
                guard let etag = XML.first("ETag", in: answer.text), !etag.isEmpty else {
                    throw S3Error(CAIRN_IO, "\(what) s3://\(client.bucket)/\(destination): part \(number) answer has no ETag")
                }
                parts.append(UploadedPart(number: number, etag: etag))
                offset = last + 1
            }
            try completeUpload(key: destination, uploadID: uploadID, parts: parts)
            client.log(CAIRN_LOG_INFO, "copied s3://\(client.bucket)/\(source.key) (\(size) bytes) to \(destination) "
                       + "in \(parts.count) parts (UploadPartCopy)")
        } catch {
            abortUpload(key: destination, uploadID: uploadID)
            throw error
        }
    }

    /// CompleteMultipartUpload; a 200 can still carry an <Error>, and then nothing is published.
    /// An upload started with a checksum algorithm must name every part's checksum.
    func completeUpload(key: String, uploadID: String, parts: [UploadedPart]) throws(S3Error) {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XML.escape(part.etag))</ETag>"
                + (part.crc32.map { "<ChecksumCRC32>\($0)</ChecksumCRC32>" } ?? "") + "</Part>"
        }
        xml += "</CompleteMultipartUpload>"
        _ = try withBytes(Array(xml.utf8)) { (bytes) throws(S3Error) -> HTTPResponse in
            try client.send("POST", key: key, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")],
                            body: bytes, what: "complete multipart upload of", errorIn200: true)
        }
    }

    /// AbortMultipartUpload, best effort: a failure is logged, as there is nothing better to do.
    func abortUpload(key: String, uploadID: String) {
        do throws(S3Error) {
            _ = try client.send("DELETE", key: key, query: [("uploadId", uploadID)], what: "abort multipart upload of",
                                accept: [404])
        } catch {
            client.log(CAIRN_LOG_WARNING, "\(error.message); the incomplete upload \(uploadID) stays billed until "
                       + "a lifecycle rule (AbortIncompleteMultipartUpload) or abort_stale_uploads removes it")
        }
    }

    func remove(_ key: String) throws(S3Error) {
        do throws(S3Error) {
            _ = try client.send("DELETE", key: key, what: "delete")
        } catch where error.status == CAIRN_NOT_FOUND {
            // A missing key is fine (S3 answers 204 anyway; some S3-compatibles say 404 NoSuchKey).
            // A missing bucket is not: that is CAIRN_INVALID.
        }
    }

    /// A single PUT; `locked`: with the Object Lock headers (an archive, not the access probe).
    /// Returns the new version's id on a versioned bucket.
    @discardableResult
    func put(_ key: String, _ body: UnsafeRawBufferPointer, locked: Bool) throws(S3Error) -> String? {
        // x-amz-sdk-checksum-algorithm names the algorithm as the AWS SDKs do; S3 needs only the
        // value. With Object Lock it is also what makes S3 take the retention headers.
        let checksum = checksums
            ? [("x-amz-sdk-checksum-algorithm", "CRC32"), ("x-amz-checksum-crc32", S3Checksum.crc32(body))] : []
        let response = try client.send("PUT", key: key, headers: writeHeaders + checksum + (locked ? lockHeaders : []), body: body,
                                       what: "upload")
        return response.headers["x-amz-version-id"]
    }

    // MARK: Access check

    /// Throws, rather than reports a failed check, when the bucket cannot be used as configured
    /// (NoSuchBucket, another region: CAIRN_INVALID): that is the operator's typo, not a store
    /// that is down, and the host reports it as a configuration error.
    func accessChecks() throws(S3Error) -> [(name: String, status: cairn_check_status, message: String)] {
        var results: [(String, cairn_check_status, String)] = [
            ("credentials", CAIRN_CHECK_PASS, "AWS credentials from \(client.credentialSource), region \(client.region)")
        ]
        do throws(S3Error) {
            let page = try list(prefix: "", token: nil, maxKeys: 1)
            results.append(("list", CAIRN_CHECK_PASS, "bucket '\(client.bucket)' can be listed"
                            + (page.objects.isEmpty ? "; it holds no objects yet" : "")))
        } catch where error.status == CAIRN_INVALID {
            throw error
        } catch {
            results.append(("list", CAIRN_CHECK_FAIL, error.message))
        }
        do throws(S3Error) {
            let identity = try client.callerIdentity()
            results.append(("identity", CAIRN_CHECK_PASS, "the credentials belong to \(identity.arn) (account \(identity.account))"))
        } catch {
            // Many S3-compatible servers have no STS; AWS always answers GetCallerIdentity.
            results.append(("identity", client.stsHost.hasSuffix(".amazonaws.com") ? CAIRN_CHECK_FAIL : CAIRN_CHECK_WARN,
                            error.message))
        }
        let probe = ".cairn-access-check-\(UInt64.random(in: 0...UInt64.max))"
        let text: [UInt8] = Array("cairn access probe\n".utf8)
        do throws(S3Error) {
            let version = try withBytes(text) { (bytes) throws(S3Error) in try put(probe, bytes, locked: false) }
            results.append(("write", CAIRN_CHECK_PASS, "wrote probe object s3://\(client.bucket)/\(probe)"))
            do throws(S3Error) {
                // On a versioned bucket a plain DELETE would leave the probe behind a delete marker.
                if let version {
                    _ = try client.send("DELETE", key: probe, query: [("versionId", version)], what: "delete")
                } else {
                    try remove(probe)
                }
                results.append(("delete", CAIRN_CHECK_PASS, "deleted the probe object"))
            } catch {
                // A writer kept from deleting is what an Object Lock setup wants (docs/s3.md), and a
                // bucket's default retention locks the probe itself.
                let lockedMs = (try? head(probe))?.lockedUntilMs ?? 0
                if lockedMs > 0 {
                    results.append(("delete", CAIRN_CHECK_WARN, "the probe object is locked by the bucket's default Object Lock "
                                    + "retention until \(S3Time.iso8601(lockedMs / 1000)), so it stays (hidden) until then"))
                } else {
                    results.append(("delete", objectLock == nil ? CAIRN_CHECK_FAIL : CAIRN_CHECK_WARN, objectLock == nil ? error.message
                                    : "\(error.message); fine for a writer that may not delete, but prune and the removal of "
                                    + "failed backups need credentials allowed s3:DeleteObject"))
                }
            }
        } catch {
            results.append(("write", CAIRN_CHECK_FAIL, error.message))
            results.append(("delete", CAIRN_CHECK_FAIL, "not checked: the probe object could not be written"))
        }
        if let objectLock { results += objectLockChecks(objectLock) }
        return results
    }
}
