import CCurl

/// What every Cairn request sets on a curl handle, whichever way its body travels: shared by
/// HTTPTransport and the S3 streaming download so timeouts and signing-safe paths stay alike.
public enum CurlRequest {
    /// `headers` as a curl list; free it with curl_slist_free_all once the transfer is done.
    public static func headerList(_ headers: [(String, String)]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        return list
    }

    /// URL, headers and the common limits, on a handle fresh from curl_easy_reset.
    public static func setCommonOptions(_ handle: UnsafeMutableRawPointer, url: String,
                                        headers: UnsafeMutablePointer<curl_slist>?, connectTimeoutSeconds: Int) {
        _ = cairn_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = cairn_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headers)
        _ = cairn_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = cairn_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, connectTimeoutSeconds)
        // A stalled transfer (under 1 KiB/s for a minute) fails instead of hanging the backup.
        _ = cairn_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1024)
        _ = cairn_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, 60)
        _ = cairn_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        // The path was signed as sent; curl must not remove dot segments from it.
        _ = cairn_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1)
    }
}

/// One line of a response head, as curl's header callback hands it over.
public enum HTTPHeaderLine {
    /// "HTTP/1.1 200 OK": a new response begins (also after 100 Continue). 0 if unreadable.
    case status(Int)
    /// "Name: value", the name lower-cased and the value trimmed.
    case field(name: String, value: String)
    /// The blank line ending the head, or anything else.
    case other

    public init(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            self = .status(line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0)
        } else if let colon = line.firstIndex(of: ":") {
            self = .field(name: line[..<colon].lowercased(),
                          value: line[line.index(after: colon)...].trimmed(of: " \t\r\n"))
        } else {
            self = .other
        }
    }
}

extension StringProtocol {
    fileprivate func trimmed(of set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
