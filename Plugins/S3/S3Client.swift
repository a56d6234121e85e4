import CCairnPlugin
import CairnPluginHTTP
import Glibc

/// Signed S3 requests with retries and S3 error codes turned into operator-readable messages.
final class S3Client {
    let bucket: String
    let region: String
    let scheme: String
    /// host[:port] of the endpoint (without the bucket).
    let endpointHost: String
    let pathStyle: Bool
    let maxAttempts: Int
    let credentials: CredentialProvider
    var credentialSource: String { credentials.source }
    /// host[:port] answering STS: the custom endpoint (moto, some S3-compatibles), else AWS's
    /// regional STS endpoint.
    let stsHost: String
    private let transport: HTTPTransport
    private let host: UnsafePointer<cairn_host_api>

    init(bucket: String, region: String, scheme: String, endpointHost: String, pathStyle: Bool,
         maxAttempts: Int, credentials: CredentialProvider, stsHost: String,
         transport: HTTPTransport, host: UnsafePointer<cairn_host_api>) {
        self.bucket = bucket
        self.region = region
        self.scheme = scheme
        self.endpointHost = endpointHost
        self.pathStyle = pathStyle
        self.maxAttempts = maxAttempts
        self.credentials = credentials
        self.stsHost = stsHost
        self.transport = transport
        self.host = host
    }

    /// The same settings with its own curl handle, for another thread (a handle serves one).
    func sibling() -> S3Client? {
        guard let transport = HTTPTransport() else { return nil }
        return S3Client(bucket: bucket, region: region, scheme: scheme, endpointHost: endpointHost, pathStyle: pathStyle,
                        maxAttempts: maxAttempts, credentials: credentials, stsHost: stsHost, transport: transport, host: host)
    }

    func log(_ level: cairn_log_level, _ message: String) {
        guard let log = host.pointee.log else { return }
        message.withCString { log(host.pointee.host_ctx, level, $0) }
    }

    var cancelled: Bool {
        guard let check = host.pointee.is_cancelled else { return false }
        return check(host.pointee.host_ctx) != 0
    }

    /// The request path: `/bucket/key` (path style) or `/key` (virtual-hosted), encoded once.
    func path(for key: String?) -> String {
        let encodedKey = key.map { SigV4Signer.uriEncode($0, keepSlash: true) } ?? ""
        return pathStyle ? "/\(SigV4Signer.uriEncode(bucket, keepSlash: false))/\(encodedKey)" : "/\(encodedKey)"
    }

    var requestHost: String { pathStyle ? endpointHost : "\(bucket).\(endpointHost)" }

    /// What an operation is about, for messages: "bucket 'b' key 'k'".
    func subject(_ key: String?) -> String {
        key.map { "s3://\(bucket)/\($0)" } ?? "bucket '\(bucket)'"
    }

    /// Sends one request, retrying transport failures, 5xx, 429 and SlowDown with exponential
    /// backoff and full jitter. Every S3 request we make may be sent again: a whole object, a part,
    /// a listing, a delete and a copy are idempotent; a CreateMultipartUpload sent again opens
    /// another upload, which `S3Store.startUpload` aborts, and a copy or Complete whose answer
    /// was lost is judged by what the key then holds (`S3Store.copy`). `errorIn200`: the
    /// operation may report failure inside a 200 body (CompleteMultipartUpload, CopyObject).
    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
              what: String, errorIn200: Bool = false, accept: Set<Int> = []) throws(S3Error) -> HTTPResponse {
        try exchange(method, host: requestHost, path: path(for: key), subject: subject(key), query: query,
                     headers: headers, body: body, what: what, errorIn200: errorIn200, accept: accept)
    }

    /// STS GetCallerIdentity: who the credentials belong to (the runbook's
    /// `aws sts get-caller-identity`). Needs no IAM permission on AWS.
    func callerIdentity() throws(S3Error) -> (account: String, arn: String) {
        let body = Array("Action=GetCallerIdentity&Version=2011-06-15".utf8)
        let response = try withBytes(body) { (bytes) throws(S3Error) -> HTTPResponse in
            try exchange("POST", host: stsHost, path: "/", subject: "STS at \(scheme)://\(stsHost)", service: "sts",
                         headers: [("content-type", "application/x-www-form-urlencoded; charset=utf-8")], body: bytes,
                         what: "get caller identity from")
        }
        guard let arn = XML.first("Arn", in: response.text), let account = XML.first("Account", in: response.text) else {
            throw S3Error(CAIRN_IO, "get caller identity from STS at \(scheme)://\(stsHost): no Arn/Account in the answer "
                          + "(HTTP \(response.status))")
        }
        return (account, arn)
    }

    private func exchange(_ method: String, host requestHost: String, path: String, subject: String, service: String = "s3",
                          query: [(String, String)] = [], headers: [(String, String)] = [],
                          body: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
                          what: String, errorIn200: Bool = false, accept: Set<Int> = []) throws(S3Error) -> HTTPResponse {
        let payloadHash = body.count == 0 ? SigV4Signer.emptyPayloadHash : SigV4Signer.sha256Hex(body)
        let queryText = SigV4Signer.canonicalQuery(query)
        let url = "\(scheme)://\(requestHost)\(path)" + (queryText.isEmpty ? "" : "?\(queryText)")
        var lastProblem = ""
        for attempt in 1...max(1, maxAttempts) {
            if attempt > 1 {
                if cancelled { throw S3Error(CAIRN_CANCELLED, "\(what) \(subject): cancelled") }
                backoff(attempt: attempt)
            }
            // Signed per attempt: the date must be fresh, and temporary credentials may have been renewed.
            let signer = SigV4Signer(credentials: try credentials.current(), region: region, service: service)
            let signed = signer.sign(method: method, host: requestHost, path: path, query: query,
                                     headers: headers, payloadHash: payloadHash, amzDate: AmzDate.now())
            let response: HTTPResponse
            do throws(TransportError) {
                response = try transport.perform(method: method, url: url, headers: signed.headers, body: body)
            } catch {
                lastProblem = "\(error.message) (\(scheme)://\(requestHost))"
                if error.retryable {
                    log(CAIRN_LOG_WARNING, "\(what) \(subject): \(lastProblem); attempt \(attempt) of \(maxAttempts)")
                    continue
                }
                throw S3Error(CAIRN_IO, "\(what) \(subject) failed: \(lastProblem)")
            }
            var failure = (200..<300).contains(response.status) || accept.contains(response.status) ? nil : S3Failure(response)
            if failure == nil, errorIn200, response.text.contains("<Error>") { failure = S3Failure(response) }
            guard let failure else { return response }
            if failure.retryable {
                lastProblem = failure.summary
                log(CAIRN_LOG_WARNING, "\(what) \(subject): \(lastProblem); attempt \(attempt) of \(maxAttempts)")
                continue
            }
            throw failure.error(what: what, subject: subject, client: self)
        }
        throw S3Error(CAIRN_IO, "\(what) \(subject) failed after \(maxAttempts) attempts "
                      + "(setting max_attempts); last error: \(lastProblem)")
    }

    /// URL and signed headers of a bodiless request, for callers that drive curl themselves
    /// (the streaming download). Sign again for every attempt: the date must be fresh.
    func signedRequest(_ method: String, key: String, headers: [(String, String)]) throws(S3Error) -> (url: String, headers: [(String, String)]) {
        let path = path(for: key)
        let signer = SigV4Signer(credentials: try credentials.current(), region: region)
        let signed = signer.sign(method: method, host: requestHost, path: path, query: [], headers: headers,
                                 payloadHash: SigV4Signer.emptyPayloadHash, amzDate: AmzDate.now())
        return ("\(scheme)://\(requestHost)\(path)", signed.headers)
    }

    /// Full jitter: a random wait up to 200 ms × 2^(attempt-2), capped at 20 s.
    func backoff(attempt: Int) {
        let cap = min(20_000.0, 200.0 * Double(1 << min(attempt - 2, 16)))
        let ms = Double.random(in: 0...cap)
        var pause = timespec(tv_sec: Int(ms / 1000), tv_nsec: Int((ms.truncatingRemainder(dividingBy: 1000)) * 1_000_000))
        nanosleep(&pause, nil)
    }
}

/// A non-success S3 answer: the HTTP status and the XML error's Code and Message.
struct S3Failure {
    let status: Int
    let code: String
    let message: String
    let regionHint: String?

    init(_ response: HTTPResponse) {
        self.init(status: response.status, headers: response.headers, body: response.body)
    }

    init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        let text = String(decoding: body, as: UTF8.self)
        code = XML.first("Code", in: text) ?? ""
        message = XML.first("Message", in: text) ?? ""
        regionHint = headers["x-amz-bucket-region"] ?? XML.first("Region", in: text)
    }

    /// BadDigest: the body's CRC32 or SHA-256 did not match on arrival, so it changed on the way;
    /// the part is still in memory and is sent again.
    var retryable: Bool {
        if status == 429 || status >= 500 { return true }
        return ["BadDigest", "XAmzContentSHA256Mismatch", "SlowDown", "InternalError", "RequestTimeout",
                "ServiceUnavailable", "Throttling", "ThrottlingException"].contains(code)
    }

    var summary: String {
        let detail = code.isEmpty ? "HTTP \(status)" : "HTTP \(status) \(code)"
        return message.isEmpty ? detail : "\(detail): \(message)"
    }

    func error(what: String, subject: String, client: S3Client) -> S3Error {
        let prefix = "\(what) \(subject)"
        switch (status, code) {
        case _ where status == 301 || code == "PermanentRedirect"
            || (code == "AuthorizationHeaderMalformed" && regionHint != nil):
            let region = regionHint ?? "another region"
            return S3Error(CAIRN_INVALID, "\(prefix): bucket '\(client.bucket)' is in region '\(region)', not "
                           + "'\(client.region)': set storage setting region: \(region) (or AWS_REGION=\(region)) [\(summary)]")
        case (_, "SignatureDoesNotMatch"):
            return S3Error(CAIRN_DENIED, "\(prefix): S3 rejected the request signature (SignatureDoesNotMatch): the secret "
                           + "access key does not belong to the access key id from \(client.credentialSource), or the "
                           + "endpoint/region is wrong")
        case (_, "InvalidAccessKeyId"), (_, "InvalidClientTokenId"):
            return S3Error(CAIRN_DENIED, "\(prefix): S3 does not know the access key id from \(client.credentialSource) "
                           + "(\(code)): check AWS_ACCESS_KEY_ID / AWS_PROFILE and the endpoint")
        case (_, "ExpiredToken"), (_, "TokenRefreshRequired"):
            return S3Error(CAIRN_DENIED, "\(prefix): the session token has expired (\(code)): refresh AWS_SESSION_TOKEN")
        case (_, "AccessDenied"), (403, _):
            return S3Error(CAIRN_DENIED, "\(prefix): access denied (\(summary)): the credentials from "
                           + "\(client.credentialSource) lack the S3 permission for this (see docs/s3.md for the IAM policy)")
        case (_, "NoSuchBucket"):
            return S3Error(CAIRN_INVALID, "\(prefix): bucket '\(client.bucket)' does not exist (NoSuchBucket) at "
                           + "\(client.scheme)://\(client.endpointHost): check S3_BUCKET / --bucket and the endpoint")
        case (_, "NoSuchKey"), (404, ""), (404, "NotFound"):
            return S3Error(CAIRN_NOT_FOUND, "\(prefix): object not found (\(summary))")
        default:
            return S3Error(CAIRN_IO, "\(prefix) failed: \(summary)")
        }
    }
}
