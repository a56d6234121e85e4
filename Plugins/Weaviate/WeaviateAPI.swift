import CCairnPlugin
import CairnPluginHTTP
import Glibc

/// Weaviate's REST API over the host's libcurl: one connection reused per instance, the API key
/// as a bearer token, and every non-2xx answer turned into a sentence that names the endpoint.
final class WeaviateAPI {
    struct Reply {
        var status: Int
        var body: [UInt8]
        var json: JSON? { JSON.parse(body) }
    }

    let settings: Settings
    private let transport: HTTPTransport

    init(settings: Settings) throws(WeaviateError) {
        guard let transport = HTTPTransport() else {
            throw WeaviateError(CAIRN_ERROR, "libcurl could not create a handle")
        }
        transport.connectTimeoutSeconds = settings.connectTimeout
        transport.requestTimeoutSeconds = settings.requestTimeout
        self.settings = settings
        self.transport = transport
    }

    /// Sends one request; throws only when no HTTP answer came (refused, timed out).
    func send(_ method: String, _ path: String, body: JSON? = nil) throws(WeaviateError) -> Reply {
        let url = settings.url + "/v1" + path
        var headers = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let key = settings.apiKey { headers.append(("Authorization", "Bearer " + key)) }
        let bytes = Array((body?.text ?? "").utf8)
        let outcome: Result<HTTPResponse, TransportError> = bytes.withUnsafeBytes { raw in
            do throws(TransportError) {
                return .success(try transport.perform(method: method, url: url, headers: headers, body: raw))
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .success(let response): return Reply(status: response.status, body: response.body)
        case .failure(let error):
            throw WeaviateError(CAIRN_IO, "cannot reach Weaviate at \(settings.url) (\(method) /v1\(path)): \(error.message). Check 'url' (WEAVIATE_URL) and that Weaviate is running")
        }
    }

    /// Sends one request and returns the parsed JSON of a 200 answer (or nil for 204), else throws
    /// the error the status stands for.
    @discardableResult
    func call(_ method: String, _ path: String, body: JSON? = nil) throws(WeaviateError) -> JSON? {
        let reply = try send(method, path, body: body)
        guard (200 ..< 300).contains(reply.status) else { throw failure(reply, method, path) }
        if reply.status == 204 || reply.body.isEmpty { return nil }
        guard let json = reply.json else {
            throw WeaviateError(CAIRN_CORRUPT, "Weaviate's answer to \(method) /v1\(path) is not valid JSON: \(Self.excerpt(reply.body))")
        }
        return json
    }

    /// The error for a non-2xx answer.
    func failure(_ reply: Reply, _ method: String, _ path: String) -> WeaviateError {
        let what = "Weaviate at \(settings.url) answered \(reply.status) to \(method) /v1\(path)"
        let message = Self.serverMessage(reply)
        switch reply.status {
        case 401:
            let fix = settings.apiKey == nil
                ? "no API key was sent: set api_key in the config or WEAVIATE_API_KEY"
                : "the API key was refused: check api_key / WEAVIATE_API_KEY"
            return WeaviateError(CAIRN_DENIED, "\(what) (unauthorized: \(message)); \(fix)")
        case 403:
            return WeaviateError(CAIRN_DENIED, "\(what) (forbidden: \(message)); the key's user needs the manage_backups permission on these collections")
        default:
            return WeaviateError(reply.status >= 500 ? CAIRN_IO : CAIRN_ERROR, "\(what): \(message)")
        }
    }

    /// The message of Weaviate's ErrorResponse ({"error":[{"message":…}]}) or of go-swagger's
    /// {"code":…,"message":…}, else the start of the body.
    static func serverMessage(_ reply: Reply) -> String {
        if let json = reply.json {
            let messages = json["error"]?.array?.compactMap { $0["message"]?.string } ?? []
            if !messages.isEmpty { return messages.joined(separator: "; ") }
            if let message = json["message"]?.string { return message }
        }
        return reply.body.isEmpty ? "no message" : excerpt(reply.body)
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return "'" + text + (body.count > 200 ? "…" : "") + "'"
    }
}
