import CCurl
import Glibc

/// One HTTP exchange's result. Bodies are small (XML or JSON, or one ranged chunk of an object).
public struct HTTPResponse {
    public var status: Int
    /// Lower-cased names.
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A transport failure before any HTTP status arrived (refused, reset, timed out).
public struct TransportError: Error {
    public let code: CURLcode
    public let message: String

    public init(code: CURLcode, message: String) {
        self.code = code
        self.message = message
    }
    /// Worth retrying: the server may have been briefly unreachable or dropped the connection.
    public var retryable: Bool {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
             CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR,
             CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_READ_ERROR, CURLE_SEND_FAIL_REWIND:
            return true
        default:
            return false
        }
    }
}

/// One libcurl easy handle, reused for every request of a store instance so connections are kept
/// alive. Never calls curl_global_init: the host did that once for the process.
public final class HTTPTransport {
    private let handle: UnsafeMutableRawPointer
    /// Seconds to wait for the TCP (and TLS) connection.
    public var connectTimeoutSeconds = 30
    /// Upper bound for a whole request in seconds; nil leaves it unbounded (the stall limit still applies).
    public var requestTimeoutSeconds: Int?

    public init?() {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    /// Per-request state the C callbacks reach through their context pointer.
    private final class Exchange {
        var body: UnsafeRawBufferPointer
        var offset = 0
        var response: [UInt8] = []
        var headers: [String: String] = [:]
        init(body: UnsafeRawBufferPointer) { self.body = body }
    }

    /// Sends one request. `headers` must already be signed; `body` is sent with an exact length
    /// (S3 refuses chunked uploads).
    public func perform(method: String, url: String, headers: [(String, String)],
                 body: UnsafeRawBufferPointer, expectedBytes: Int = 0) throws(TransportError) -> HTTPResponse {
        curl_easy_reset(handle)
        let exchange = Exchange(body: body)
        // Ranged reads know their size: one allocation instead of repeated growth.
        exchange.response.reserveCapacity(expectedBytes)
        let context = Unmanaged.passUnretained(exchange).toOpaque()
        var list = CurlRequest.headerList(headers)
        defer { curl_slist_free_all(list) }
        // curl would otherwise add its own Content-Type to POSTs; Expect waits a round trip for nothing.
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            list = curl_slist_append(list, "Content-Type:")
        }
        list = curl_slist_append(list, "Expect:")

        CurlRequest.setCommonOptions(handle, url: url, headers: list, connectTimeoutSeconds: connectTimeoutSeconds)
        if let requestTimeoutSeconds { _ = cairn_curl_setopt_long(handle, CURLOPT_TIMEOUT, requestTimeoutSeconds) }
        _ = cairn_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = cairn_curl_setopt_function(handle, CURLOPT_WRITEFUNCTION, { data, size, count, ctx in
            guard let ctx, let data else { return 0 }
            let exchange = Unmanaged<Exchange>.fromOpaque(ctx).takeUnretainedValue()
            let n = size * count
            exchange.response.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n))
            return n
        })
        _ = cairn_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)
        _ = cairn_curl_setopt_function(handle, CURLOPT_HEADERFUNCTION, { data, size, count, ctx in
            guard let ctx, let data else { return 0 }
            let exchange = Unmanaged<Exchange>.fromOpaque(ctx).takeUnretainedValue()
            let n = size * count
            switch HTTPHeaderLine(UnsafeRawBufferPointer(start: data, count: n)) {
            case .status: exchange.headers = [:]  // a new response (after 100 Continue)
            case .field(let name, let value): exchange.headers[name] = value
            case .other: break
            }
            return n
        })

        switch method {
        case "GET":
            _ = cairn_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD":
            _ = cairn_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
        case "PUT", "POST":
            if method == "POST" {
                _ = cairn_curl_setopt_long(handle, CURLOPT_POST, 1)
                _ = cairn_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            } else {
                _ = cairn_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
                _ = cairn_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(body.count))
            }
            _ = cairn_curl_setopt_pointer(handle, CURLOPT_READDATA, context)
            _ = cairn_curl_setopt_function(handle, CURLOPT_READFUNCTION, { buffer, size, count, ctx in
                guard let ctx, let buffer else { return 0 }
                let exchange = Unmanaged<Exchange>.fromOpaque(ctx).takeUnretainedValue()
                let n = min(size * count, exchange.body.count - exchange.offset)
                guard n > 0, let base = exchange.body.baseAddress else { return 0 }
                memcpy(buffer, base + exchange.offset, n)
                exchange.offset += n
                return n
            })
            // curl rewinds the body when a reused connection turns out dead, or on a redirect.
            _ = cairn_curl_setopt_pointer(handle, CURLOPT_SEEKDATA, context)
            _ = cairn_curl_setopt_seek(handle, { ctx, offset, origin in
                guard let ctx, origin == SEEK_SET else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
                let exchange = Unmanaged<Exchange>.fromOpaque(ctx).takeUnretainedValue()
                guard offset >= 0, Int(offset) <= exchange.body.count else { return Int32(CURL_SEEKFUNC_FAIL) }
                exchange.offset = Int(offset)
                return Int32(CURL_SEEKFUNC_OK)
            })
        default:
            _ = cairn_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let text = curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
            throw TransportError(code: code, message: text)
        }
        var status = 0
        _ = cairn_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: exchange.headers, body: exchange.response)
    }
}
