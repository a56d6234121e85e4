import Foundation
import Testing
import CairnTestSupport
@testable import CairnS3
import CairnPluginHTTP

/// The SigV4 signer against AWS's published S3 examples and against botocore's S3SigV4Auth.
@Suite("S3 SigV4 signer")
struct S3SignerTests {
    static let docs = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                              secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                  region: "us-east-1")
    static let host = "examplebucket.s3.amazonaws.com"
    static let date = "20130524T000000Z"

    func signature(_ signed: SigV4Signer.Signed) -> String {
        String(signed.authorization.split(separator: "=").last ?? "")
    }

    // "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk".
    @Test func awsExampleGetObjectWithRange() {
        let signed = Self.docs.sign(method: "GET", host: Self.host, path: "/test.txt", query: [],
                                    headers: [("Range", "bytes=0-9")], payloadHash: SigV4Signer.emptyPayloadHash,
                                    amzDate: Self.date)
        #expect(signature(signed) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.authorization.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"))
    }

    @Test func awsExamplePutObject() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let signed = Self.docs.sign(method: "PUT", host: Self.host,
                                    path: "/" + SigV4Signer.uriEncode("test$file.text", keepSlash: true), query: [],
                                    headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                              ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                    payloadHash: SigV4Signer.sha256Hex(body), amzDate: Self.date)
        #expect(signature(signed) == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    @Test func awsExampleGetLifecycle() {
        let signed = Self.docs.sign(method: "GET", host: Self.host, path: "/", query: [("lifecycle", "")], headers: [],
                                    payloadHash: SigV4Signer.emptyPayloadHash, amzDate: Self.date)
        #expect(signature(signed) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    @Test func awsExampleListObjects() {
        let signed = Self.docs.sign(method: "GET", host: Self.host, path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                    headers: [], payloadHash: SigV4Signer.emptyPayloadHash, amzDate: Self.date)
        #expect(signature(signed) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func encodingRules() {
        #expect(SigV4Signer.uriEncode("dir/a b+c€~.txt", keepSlash: true) == "dir/a%20b%2Bc%E2%82%AC~.txt")
        #expect(SigV4Signer.canonicalQuery([("uploadId", "x/y="), ("partNumber", "1"), ("uploads", "")])
                == "partNumber=1&uploadId=x%2Fy%3D&uploads=")
        #expect(SigV4Signer.trimHeaderValue("  a   b \t c ") == "a b c")
    }

    /// The same requests signed by botocore (the signer the AWS CLI and moto use) must give the
    /// same Authorization header, including unicode and spaces in keys and tricky query values.
    @Test func matchesBotocore() throws {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDTEST", secretAccessKey: "se/cr+et=",
                                                             sessionToken: "token/with+chars="),
                                 region: "eu-west-3")
        let body = Array("some body bytes".utf8)
        let cases: [(String, String, [(String, String)], [(String, String)], String)] = [
            ("PUT", "/bkt/" + SigV4Signer.uriEncode("comp/env/a b+c é€.tar.gz", keepSlash: true), [],
             [("x-amz-storage-class", "STANDARD_IA")], SigV4Signer.sha256Hex(body)),
            ("GET", "/bkt/", [("list-type", "2"), ("prefix", "comp/env/"), ("continuation-token", "1/ab+c=="), ("max-keys", "1000")],
             [], SigV4Signer.emptyPayloadHash),
            ("POST", "/bkt/comp/env/x.tar.gz", [("uploads", "")], [("x-amz-server-side-encryption", "AES256")],
             SigV4Signer.emptyPayloadHash),
            ("PUT", "/bkt/comp/env/x.tar.gz", [("uploadId", "Zm9v/YmFy+=="), ("partNumber", "12")], [],
             SigV4Signer.sha256Hex(body)),
            ("GET", "/bkt/%7Etilde/%E2%98%83", [], [("range", "bytes=0-8388607")], SigV4Signer.emptyPayloadHash),
        ]
        var lines: [String] = []
        var ours: [String] = []
        for (method, path, query, headers, hash) in cases {
            let signed = signer.sign(method: method, host: "127.0.0.1:9000", path: path, query: query, headers: headers,
                                     payloadHash: hash, amzDate: "20261126T120000Z")
            ours.append(signed.authorization)
            let queryText = SigV4Signer.canonicalQuery(query)
            let url = "http://127.0.0.1:9000\(path)" + (queryText.isEmpty ? "" : "?\(queryText)")
            let sent = signed.headers.filter { $0.0 != "Authorization" && $0.0 != "host" }
            let object: [String: Any] = ["method": method, "url": url,
                                         "headers": Dictionary(uniqueKeysWithValues: sent.map { [$0.0, $0.1] }.map { ($0[0], $0[1]) })]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        let script = """
            import json, sys
            from botocore.auth import S3SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            auth = S3SigV4Auth(Credentials("AKIDTEST", "se/cr+et=", "token/with+chars="), "s3", "eu-west-3")
            for line in sys.stdin:
                r = json.loads(line)
                req = AWSRequest(method=r["method"], url=r["url"], headers=r["headers"])
                req.context["timestamp"] = r["headers"]["x-amz-date"]
                cr = auth.canonical_request(req)
                sts = auth.string_to_sign(req, cr)
                print("AWS4-HMAC-SHA256 Credential=AKIDTEST/" + auth.credential_scope(req) + ", SignedHeaders="
                      + auth.signed_headers(auth.headers_to_sign(req)) + ", Signature=" + auth.signature(sts, req))
            """
        let input = lines.joined(separator: "\n") + "\n"
        let scratch = try TemporaryDirectory("s3-sig")
        try input.write(to: scratch.path("in.jsonl"), atomically: true, encoding: .utf8)
        try script.write(to: scratch.path("sig.py"), atomically: true, encoding: .utf8)
        let result = try runShell("python3 '\(scratch.path("sig.py").path)' < '\(scratch.path("in.jsonl").path)'")
        let theirs = result.text.split(separator: "\n").map(String.init)
        #expect(theirs.count == ours.count, "\(result.stderr)")
        for (a, b) in zip(ours, theirs) { #expect(a == b) }
    }

    @Test func credentialFilesAndProfiles() throws {
        let dir = try TemporaryDirectory("s3-creds")
        try """
            [default]
            aws_access_key_id = AKDEFAULT
            aws_secret_access_key = sdefault
            [prod]
            aws_access_key_id=AKPROD
            aws_secret_access_key=sprod
            aws_session_token = tprod
            """.write(to: dir.path("credentials"), atomically: true, encoding: .utf8)
        try """
            [profile cfg]
            region = eu-central-1
            aws_access_key_id = AKCFG
            aws_secret_access_key = scfg
            """.write(to: dir.path("config"), atomically: true, encoding: .utf8)
        let env: (String) -> String? = { ["AWS_SHARED_CREDENTIALS_FILE": dir.path("credentials").path,
                                          "AWS_CONFIG_FILE": dir.path("config").path][$0] }
        let explicit = try CredentialChain.resolve(accessKeyID: "AKENV", secretAccessKey: "senv", sessionToken: nil,
                                                   profile: "prod", environment: env)
        #expect(explicit.credentials.accessKeyID == "AKENV")
        let prod = try CredentialChain.resolve(accessKeyID: nil, secretAccessKey: nil, sessionToken: nil,
                                               profile: "prod", environment: env)
        #expect(prod.credentials.accessKeyID == "AKPROD" && prod.credentials.sessionToken == "tprod")
        #expect(try CredentialChain.resolve(accessKeyID: nil, secretAccessKey: nil, sessionToken: nil, profile: nil,
                                            environment: env).credentials.accessKeyID == "AKDEFAULT")
        let cfg = try CredentialChain.resolve(accessKeyID: nil, secretAccessKey: nil, sessionToken: nil,
                                              profile: "cfg", environment: env)
        #expect(cfg.credentials.accessKeyID == "AKCFG" && cfg.profileRegion == "eu-central-1")
        do {
            _ = try CredentialChain.resolve(accessKeyID: nil, secretAccessKey: nil, sessionToken: nil, profile: "none",
                                            environment: env)
            Issue.record("expected missing credentials")
        } catch {
            #expect(error.message.hasPrefix("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"))
        }
    }

    @Test func xmlListingAndErrors() {
        let page = """
            <ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/b &amp; c&#x20AC;.tar.gz</Key>\
            <LastModified>2026-11-26T19:01:02.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>42</Size></Contents>\
            <NextContinuationToken>tok&lt;1</NextContinuationToken></ListBucketResult>
            """
        let entries = XML.elements("Contents", in: page[...])
        #expect(entries.count == 1)
        #expect(XML.first("Key", in: entries[0]) == "a/b & c€.tar.gz")
        #expect(XML.first("ETag", in: entries[0]) == "\"abc\"")
        #expect(XML.first("NextContinuationToken", in: page) == "tok<1")
        #expect(S3Time.iso8601Milliseconds("2026-11-26T19:01:02.000Z") == 1_795_719_662_000)
        #expect(S3Time.httpDateMilliseconds("Thu, 26 Nov 2026 19:01:02 GMT") == 1_795_719_662_000)
        let failure = S3Failure(HTTPResponse(status: 301, headers: ["x-amz-bucket-region": "eu-west-1"],
                                             body: Array("<Error><Code>PermanentRedirect</Code><Message>m</Message></Error>".utf8)))
        #expect(!failure.retryable)
        #expect(S3Failure(HTTPResponse(status: 503, headers: [:], body: Array("<Error><Code>SlowDown</Code></Error>".utf8))).retryable)
    }
}
