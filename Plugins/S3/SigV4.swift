import Glibc
import Crypto

/// AWS credentials for signing. The secret never leaves this struct except into HMAC keys.
struct AWSCredentials: Sendable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
}

/// AWS Signature Version 4 for S3, header-based. Done here rather than with curl's
/// CURLOPT_AWS_SIGV4 because curl 7.88 neither encodes the path nor sorts the query nor hashes
/// streamed bodies. S3 differs from other services: the path is encoded once and never normalised.
struct SigV4Signer: Sendable {
    let credentials: AWSCredentials
    let region: String
    var service = "s3"

    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// What goes on the wire for one signed request.
    struct Signed {
        /// All headers to send (including the ones given), Authorization last.
        var headers: [(String, String)]
        var canonicalRequest: String
        var stringToSign: String
        var authorization: String
    }

    /// Signs `method path?query`. `path` is the canonical (already encoded) path, `query` the
    /// decoded parameters, `headers` every header to sign except Authorization; `host`,
    /// `x-amz-date`, `x-amz-content-sha256` and the session token are added here.
    func sign(method: String, host: String, path: String, query: [(String, String)],
              headers: [(String, String)], payloadHash: String, amzDate: String) -> Signed {
        var all = headers
        all.append(("host", host))
        all.append(("x-amz-date", amzDate))
        all.append(("x-amz-content-sha256", payloadHash))
        if let token = credentials.sessionToken, !token.isEmpty { all.append(("x-amz-security-token", token)) }

        // Lower-case names, trimmed values with runs of spaces collapsed, sorted by name.
        var canonical: [(String, String)] = all.map { ($0.0.lowercased(), Self.trimHeaderValue($0.1)) }
        canonical.sort { $0.0 < $1.0 }
        let signedHeaders = canonical.map(\.0).joined(separator: ";")
        let canonicalHeaders = canonical.map { "\($0.0):\($0.1)\n" }.joined()

        let canonicalRequest = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders,
                                payloadHash].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")

        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data32(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)).bytes)
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        all.append(("Authorization", authorization))
        return Signed(headers: all, canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                      authorization: authorization)
    }

    // MARK: Encoding

    /// RFC 3986 unreserved characters stay, every other byte becomes %XX (upper case). `/` is
    /// kept only in paths: S3 keys are encoded segment by segment, exactly once.
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                 UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += "%" + hexDigits[Int(byte >> 4)] + hexDigits[Int(byte & 15)]
            }
        }
        return out
    }

    private static let hexDigits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F"]

    /// Sorted by encoded name, then value; valueless parameters become `name=`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    static func trimHeaderValue(_ value: String) -> String {
        var out = ""
        var lastSpace = false
        for ch in value.trimmingSpaces() {
            if ch == " " || ch == "\t" {
                if !lastSpace { out.append(" ") }
                lastSpace = true
            } else {
                out.append(ch)
                lastSpace = false
            }
        }
        return out
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        var out = ""
        for byte in digest {
            out += lowerHex[Int(byte >> 4)] + lowerHex[Int(byte & 15)]
        }
        return out
    }

    private static let lowerHex = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]

    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String { hex(SHA256.hash(data: bytes)) }
    static func sha256Hex(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}

/// Bytes of a MAC, to chain HMAC keys without Foundation.
private struct Data32 {
    let bytes: [UInt8]
    init(_ mac: HashedAuthenticationCode<SHA256>) { bytes = Array(mac) }
}

extension String {
    func trimmingSpaces() -> Substring {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` for x-amz-date, from the system clock in UTC.
enum AmzDate {
    static func now() -> String { S3Time.iso8601(Int64(time(nil)), basic: true) }
}
