import Foundation
import Testing
import CairnCore
import CairnTestSupport

/// Certificates made with the openssl CLI: a CA, a server certificate for cache.internal and
/// 127.0.0.1, a client certificate, and a second CA that signed none of them.
struct TestCertificates {
    let dir: URL
    var ca: String { dir.appendingPathComponent("ca.crt").path }
    var otherCA: String { dir.appendingPathComponent("other-ca.crt").path }
    var serverCert: String { dir.appendingPathComponent("server.crt").path }
    var serverKey: String { dir.appendingPathComponent("server.key").path }
    var clientCert: String { dir.appendingPathComponent("client.crt").path }
    var clientKey: String { dir.appendingPathComponent("client.key").path }

    init(in dir: URL) throws {
        self.dir = dir
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try runShell("""
            set -e
            cd '\(dir.path)'
            printf 'subjectAltName=DNS:cache.internal,IP:127.0.0.1\\n' > server.ext
            for ca in ca other-ca; do
              openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$ca" -keyout $ca.key -out $ca.crt 2>/dev/null
            done
            openssl req -newkey rsa:2048 -nodes -subj /CN=cache.internal -keyout server.key -out server.csr 2>/dev/null
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -subj /CN=cairn -keyout client.key -out client.csr 2>/dev/null
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null
            chmod 600 *.key
            """)
    }
}

/// redis-server with a TLS port (client certificates required) next to its plain one, which the
/// test alone uses to fill it and read its digest; Cairn is given only the TLS port.
@Suite("Redis over TLS", .serialized)
struct RedisTLSTests: RedisCLISuite {
    let temp: TemporaryDirectory
    let store: URL
    let configFile: URL
    let certs: TestCertificates
    let server: RedisServer
    let tlsPort: Int
    var cairnEnvironment: [String: String] { ["REDIS_PASSWORD": "tls-s3cret"] }

    init() throws {
        temp = try TemporaryDirectory("cairn-redis-tls")
        store = temp.path("store")
        configFile = temp.path("cairn.yaml")
        certs = try TestCertificates(in: temp.path("certs"))
        tlsPort = try freePort()
        server = try RedisServer(in: temp.path("server"), extra: [
            "--tls-port", "\(tlsPort)", "--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey,
            "--tls-ca-cert-file", certs.ca, "--tls-replication", "yes",
        ])
        try server.populate()
        try server.cli(["CONFIG", "SET", "requirepass", "tls-s3cret"])
    }

    var digest: String { (try? runTool(["redis-cli", "-p", "\(server.port)", "-a", "tls-s3cret", "--no-auth-warning", "DEBUG", "DIGEST"]).text
        .trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?" }

    @Test func mutualTLSCarriesTheReplicationStreamAndTheDrillMatches() throws {
        try writeConfig("""
            url: rediss://127.0.0.1:\(tlsPort)
            tls: { ca_file: \(certs.ca), cert_file: \(certs.clientCert), key_file: \(certs.clientKey), server_name: cache.internal, min_version: "1.2" }
            """)
        let check = try cairn(["check", "redis"])
        #expect(check.status == 0, "\(check.text)\(check.stderr)")
        let backup = try cairn(["backup", "redis"])
        #expect(backup.status == 0, "\(backup.text)\(backup.stderr)")
        #expect(!(backup.text + backup.stderr).contains("tls-s3cret"))
        let drill = try cairn(["restore", "redis", "--backup", "latest", "--drill"])
        #expect(drill.status == 0, "\(drill.text)\(drill.stderr)")
        #expect(drill.text.contains("DEBUG DIGEST \(digest)"), "\(drill.text)")

        // The logical method over TLS too.
        try writeConfig("""
            url: rediss://127.0.0.1:\(tlsPort)
            method: logical
            tls: { ca_file: \(certs.ca), cert_file: \(certs.clientCert), key_file: \(certs.clientKey), server_name: cache.internal }
            """)
        let logical = try cairn(["backup", "redis"])
        #expect(logical.status == 0, "\(logical.text)\(logical.stderr)")
    }

    @Test func aWrongCAAMissingClientCertificateAndAWrongNameAreNamed() throws {
        try writeConfig("""
            url: rediss://127.0.0.1:\(tlsPort)
            tls: { ca_file: \(certs.otherCA), cert_file: \(certs.clientCert), key_file: \(certs.clientKey), server_name: cache.internal }
            """)
        let wrongCA = try cairn(["backup", "redis"])
        #expect(wrongCA.status == 1, "\(wrongCA.text)\(wrongCA.stderr)")
        #expect((wrongCA.text + wrongCA.stderr).contains("certificate for cache.internal signed by an unknown CA"), "\(wrongCA.text)\(wrongCA.stderr)")
        #expect((wrongCA.text + wrongCA.stderr).contains("set tls.ca_file"))

        try writeConfig("""
            url: rediss://127.0.0.1:\(tlsPort)
            tls: { ca_file: \(certs.ca), server_name: cache.internal }
            """)
        let noClient = try cairn(["backup", "redis"])
        #expect(noClient.status == 1, "\(noClient.text)\(noClient.stderr)")
        #expect((noClient.text + noClient.stderr).contains("set tls.cert_file and tls.key_file"), "\(noClient.text)\(noClient.stderr)")

        try writeConfig("""
            url: rediss://127.0.0.1:\(tlsPort)
            tls: { ca_file: \(certs.ca), cert_file: \(certs.clientCert), key_file: \(certs.clientKey), server_name: other.internal }
            """)
        let wrongName = try cairn(["backup", "redis"])
        #expect(wrongName.status == 1)
        #expect((wrongName.text + wrongName.stderr).contains("not issued for other.internal"), "\(wrongName.text)\(wrongName.stderr)")

        try writeConfig("""
            url: rediss://127.0.0.1:\(server.port)
            tls: { ca_file: \(certs.ca) }
            connect_timeout: 2
            """)
        let plainPort = try cairn(["backup", "redis"])
        #expect(plainPort.status == 1)
        #expect((plainPort.text + plainPort.stderr).contains("is TLS enabled on that port?"), "\(plainPort.text)\(plainPort.stderr)")

        try writeConfig("""
            url: redis://127.0.0.1:\(tlsPort)
            connect_timeout: 2
            read_timeout: 3
            """)
        let plain = try cairn(["backup", "redis"])
        #expect(plain.status == 1)
        #expect(!(plain.text + plain.stderr).contains("tls-s3cret"))
        #expect(!FileManager.default.fileExists(atPath: store.appendingPathComponent("redis/test/latest.tar.gz").path))
    }
}
