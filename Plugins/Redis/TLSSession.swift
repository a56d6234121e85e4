import CCairnPlugin
import COpenSSL
import CairnPluginSupport
import Glibc

/// The `tls:` settings (or a rediss:// URL): what the client trusts and presents.
struct TLSSettings {
    var caFile: String?
    var caDir: String?
    var certFile: String?
    var keyFile: String?
    var serverName: String?
    var minVersion = "1.2"

    static let keys = ["enabled", "ca_file", "ca_dir", "cert_file", "key_file", "server_name", "min_version"]

    /// Reads the `tls` mapping (JSON text from the host). Returns nil when it says enabled: false.
    static func parse(_ json: String) throws(RedisError) -> TLSSettings? {
        let fields = try FlatJSON.object(json, what: "setting 'tls'")
        var result = TLSSettings()
        for (key, value) in fields {
            switch key {
            case "enabled":
                guard value == "true" || value == "false" else {
                    throw RedisError(CAIRN_INVALID, "setting 'tls.enabled' must be true or false, not '\(value)'")
                }
                if value == "false" { return nil }
            case "ca_file": result.caFile = try file(value, key)
            case "ca_dir": result.caDir = value
            case "cert_file": result.certFile = try file(value, key)
            case "key_file": result.keyFile = try file(value, key)
            case "server_name": result.serverName = value
            case "min_version":
                guard value == "1.2" || value == "1.3" else {
                    throw RedisError(CAIRN_INVALID, "setting 'tls.min_version' must be 1.2 or 1.3, not '\(value)'")
                }
                result.minVersion = value
            default:
                throw RedisError(CAIRN_INVALID, "setting 'tls' has no key '\(key)' (it knows \(keys.joined(separator: ", ")))")
            }
        }
        if (result.certFile == nil) != (result.keyFile == nil) {
            throw RedisError(CAIRN_INVALID, "settings 'tls.cert_file' and 'tls.key_file' go together: a client certificate needs its key (set both or neither)")
        }
        return result
    }

    private static func file(_ path: String, _ key: String) throws(RedisError) -> String {
        guard access(path, R_OK) == 0 else {
            throw RedisError(CAIRN_INVALID, "setting 'tls.\(key)': cannot read \(path) (\(PluginError.describe(errno: errno)))")
        }
        return path
    }
}

/// One TLS connection over a connected socket, through OpenSSL. Reads and writes block with the
/// socket's own timeouts; certificate problems are named with the setting that fixes them.
final class TLSSession {
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    let address: String
    let name: String
    /// For the hint when the server hangs up: TLS 1.3 servers reject a missing client certificate
    /// after the handshake, so the first write may only see a reset instead of the alert.
    private let presentsCertificate: Bool
    private var answered = false

    init(fd: Int32, settings: TLSSettings, host: String, address: String) throws(RedisError) {
        self.address = address
        name = settings.serverName ?? host
        presentsCertificate = settings.certFile != nil
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw RedisError(CAIRN_ERROR, "cannot create a TLS context: \(Self.errors())")
        }
        do throws(RedisError) {
            // SSL_new copies the context's verification, certificate and versions: set them first.
            try Self.configure(context, settings)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw RedisError(CAIRN_ERROR, "cannot create a TLS session: \(Self.errors())")
        }
        self.ssl = ssl
        // An IP address is checked against the certificate's IP entries, a name against its DNS names.
        var probe = in6_addr()
        if inet_pton(AF_INET, name, &probe) == 1 || inet_pton(AF_INET6, name, &probe) == 1 {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name)
        } else {
            SSL_set1_host(ssl, name)
            _ = cairn_ssl_set_server_name(ssl, name)
        }
        SSL_set_fd(ssl, fd)
        ERR_clear_error()
        if SSL_connect(ssl) != 1 { throw handshakeError() }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    private static func configure(_ context: OpaquePointer, _ settings: TLSSettings) throws(RedisError) {
        _ = cairn_ssl_ctx_set_min_version(context, settings.minVersion == "1.3" ? cairn_tls1_3_version() : cairn_tls1_2_version())
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if settings.caFile != nil || settings.caDir != nil {
            guard SSL_CTX_load_verify_locations(context, settings.caFile, settings.caDir) == 1 else {
                let which = settings.caFile.map { "tls.ca_file \($0)" } ?? "tls.ca_dir \(settings.caDir ?? "")"
                throw RedisError(CAIRN_INVALID, "cannot load the CA certificates of \(which): \(Self.errors())")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw RedisError(CAIRN_ERROR, "cannot load the system's CA certificates: \(Self.errors()); set tls.ca_file")
        }
        if let cert = settings.certFile, let key = settings.keyFile {
            guard SSL_CTX_use_certificate_chain_file(context, cert) == 1 else {
                throw RedisError(CAIRN_INVALID, "cannot load the client certificate tls.cert_file \(cert): \(Self.errors())")
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1 else {
                throw RedisError(CAIRN_INVALID, "cannot load the client key tls.key_file \(key): \(Self.errors())")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw RedisError(CAIRN_INVALID, "tls.key_file \(key) is not the key of tls.cert_file \(cert): \(Self.errors())")
            }
        }
    }

    private func handshakeError() -> RedisError {
        let result = SSL_get_verify_result(ssl)
        if result != X509_V_OK {
            let reason = String(cString: X509_verify_cert_error_string(result))
            switch Int32(result) {
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
                 X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return RedisError(CAIRN_DENIED, "TLS to Redis at \(address): certificate for \(name) signed by an unknown CA (\(reason)): set tls.ca_file to the CA that issued it")
            case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
                return RedisError(CAIRN_DENIED, "TLS to Redis at \(address): the server's certificate is not issued for \(name) (\(reason)): set tls.server_name to a name it carries")
            case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
                return RedisError(CAIRN_DENIED, "TLS to Redis at \(address): certificate for \(name): \(reason)")
            default:
                return RedisError(CAIRN_DENIED, "TLS to Redis at \(address): certificate for \(name) failed verification: \(reason)")
            }
        }
        if errno == EAGAIN || errno == EWOULDBLOCK {
            return RedisError(CAIRN_IO, "TLS handshake with Redis at \(address): no answer within connect_timeout: is TLS enabled on that port? (a plain redis:// port does not speak TLS)")
        }
        return ioError("TLS handshake with Redis at \(address) failed")
    }

    /// The error after a failed read or write, with the hint a refused client certificate needs.
    private func ioError(_ what: String) -> RedisError {
        let code = errno
        let errnoText = code != 0 ? " (\(PluginError.describe(errno: code)))" : ""
        let queue = Self.errors()
        if queue.contains("certificate required") || queue.contains("handshake failure") || (!answered && !presentsCertificate && queue.isEmpty) {
            let why = queue.isEmpty ? "the server closed the connection\(errnoText)" : queue
            let hint = queue.isEmpty ? "the server may want a client certificate" : "the server wants a client certificate"
            return RedisError(CAIRN_DENIED, "\(what): \(why) (\(hint): set tls.cert_file and tls.key_file)")
        }
        if queue.contains("unknown ca") || queue.contains("bad certificate") {
            return RedisError(CAIRN_DENIED, "\(what): \(queue) (the server does not accept the client certificate in tls.cert_file)")
        }
        if queue.contains("wrong version number") || queue.contains("packet length too long") {
            return RedisError(CAIRN_IO, "\(what): \(queue) (is TLS enabled on that port? a plain redis:// port does not speak TLS)")
        }
        return RedisError(CAIRN_IO, "\(what): \(queue.isEmpty ? "the connection closed" : queue)\(errnoText)")
    }

    func send(_ base: UnsafeRawPointer, _ count: Int) throws(RedisError) -> Int {
        ERR_clear_error()
        let n = SSL_write(ssl, base, Int32(clamping: count))
        if n > 0 { return Int(n) }
        throw failure(n, "writing to Redis at \(address) over TLS")
    }

    /// 0 at a clean close.
    func recv(_ base: UnsafeMutableRawPointer, _ capacity: Int) throws(RedisError) -> Int {
        ERR_clear_error()
        let n = SSL_read(ssl, base, Int32(clamping: capacity))
        if n > 0 { answered = true; return Int(n) }
        let code = SSL_get_error(ssl, n)
        if code == SSL_ERROR_ZERO_RETURN { return 0 }
        if code == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && n == 0 { return 0 }
        throw failure(n, "reading from Redis at \(address) over TLS")
    }

    private func failure(_ n: Int32, _ what: String) -> RedisError {
        let code = SSL_get_error(ssl, n)
        if code == SSL_ERROR_SYSCALL || code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE,
           errno == EAGAIN || errno == EWOULDBLOCK {
            return RedisError(CAIRN_IO, "Redis at \(address) sent nothing for the read timeout (read_timeout)")
        }
        return ioError(what)
    }

    /// OpenSSL's error queue as one line (emptied).
    static func errors() -> String {
        var parts: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // "error:0A000086:SSL routines::certificate verify failed" -> the reason after the last ':'
            parts.append(String(text.split(separator: ":", omittingEmptySubsequences: false).last ?? Substring(text)))
        }
        return parts.joined(separator: "; ")
    }
}

