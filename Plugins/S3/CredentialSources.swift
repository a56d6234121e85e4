import CCairnPlugin
import CairnPluginHTTP
import Glibc

/// Temporary credentials from where the AWS CLI finds them when no keys are set: web identity
/// (EKS IRSA), a container credentials endpoint (ECS, EKS Pod Identity) and the instance metadata
/// service (IMDSv2). Each returns nil when its variables say it does not apply.
enum CredentialSources {
    typealias Environment = (String) -> String?

    /// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: STS AssumeRoleWithWebIdentity, unsigned (the
    /// token is the proof). The token file is read again at each refresh: Kubernetes rotates it.
    static func webIdentity(_ env: Environment, stsURL: String) throws(S3Error) -> CredentialProvider? {
        guard let tokenFile = CredentialChain.nonEmpty(env("AWS_WEB_IDENTITY_TOKEN_FILE")),
              let role = CredentialChain.nonEmpty(env("AWS_ROLE_ARN")) else { return nil }
        let session = CredentialChain.nonEmpty(env("AWS_ROLE_SESSION_NAME")) ?? "cairn-\(getpid())"
        return try CredentialProvider(source: "web identity (role \(role), token \(tokenFile))") { () throws(S3Error) in
            guard let token = CredentialChain.readText(tokenFile).flatMap(CredentialChain.nonEmpty) else {
                throw S3Error(CAIRN_DENIED, "web identity: cannot read the token file \(tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE)")
            }
            let form = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
                        ("RoleSessionName", session), ("WebIdentityToken", token)]
                .map { "\($0.0)=\(SigV4Signer.uriEncode($0.1, keepSlash: false))" }.joined(separator: "&")
            let response = try get(stsURL, method: "POST", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                   body: form, what: "web identity: STS AssumeRoleWithWebIdentity at \(stsURL)")
            func field(_ name: String) -> String? { XML.first(name, in: response) }
            guard let key = field("AccessKeyId"), let secret = field("SecretAccessKey") else {
                throw S3Error(CAIRN_DENIED, "web identity: STS at \(stsURL) answered without credentials for role \(role)")
            }
            return (AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: field("SessionToken")),
                    field("Expiration").flatMap(parseTime))
        }
    }

    /// AWS_CONTAINER_CREDENTIALS_FULL_URI, or _RELATIVE_URI under 169.254.170.2, with the
    /// authorization token from AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) when set.
    static func container(_ env: Environment) throws(S3Error) -> CredentialProvider? {
        let url: String
        if let full = CredentialChain.nonEmpty(env("AWS_CONTAINER_CREDENTIALS_FULL_URI")) { url = full }
        else if let relative = CredentialChain.nonEmpty(env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) { url = "http://169.254.170.2" + relative }
        else { return nil }
        let tokenFile = CredentialChain.nonEmpty(env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        let fixedToken = CredentialChain.nonEmpty(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        return try CredentialProvider(source: "container credentials endpoint \(url)") { () throws(S3Error) in
            let token = tokenFile.flatMap(CredentialChain.readText).flatMap(CredentialChain.nonEmpty) ?? fixedToken
            let body = try get(url, headers: token.map { [("Authorization", $0)] } ?? [], what: "container credentials at \(url)")
            return try credentials(fromJSON: body, what: "container credentials at \(url)")
        }
    }

    /// IMDSv2: a session token (PUT), the instance role's name, then its credentials.
    /// AWS_EC2_METADATA_DISABLED=true skips it; AWS_EC2_METADATA_SERVICE_ENDPOINT moves it.
    static func instanceMetadata(_ env: Environment) throws(S3Error) -> CredentialProvider? {
        if env("AWS_EC2_METADATA_DISABLED")?.lowercased() == "true" { return nil }
        var base = CredentialChain.nonEmpty(env("AWS_EC2_METADATA_SERVICE_ENDPOINT")) ?? "http://169.254.169.254"
        if base.hasSuffix("/") { base.removeLast() }
        let what = "instance metadata at \(base)"
        // Off EC2 nothing answers: one quick try, as the AWS CLI makes, then the chain moves on.
        guard let token = try? get("\(base)/latest/api/token", method: "PUT", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
                                   what: what, timeoutSeconds: 1) else { return nil }
        let rolesPath = "\(base)/latest/meta-data/iam/security-credentials/"
        guard let role = try get(rolesPath, headers: [("X-aws-ec2-metadata-token", token)], what: what)
            .split(separator: "\n").first.map(String.init) else {
            throw S3Error(CAIRN_DENIED, "\(what): the instance has no IAM role (attach an instance profile)")
        }
        return try CredentialProvider(source: "instance role \(role) (IMDSv2)") { () throws(S3Error) in
            let fresh = try get("\(base)/latest/api/token", method: "PUT", headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")], what: what)
            let body = try get(rolesPath + role, headers: [("X-aws-ec2-metadata-token", fresh)], what: what)
            return try credentials(fromJSON: body, what: what)
        }
    }

    /// {"AccessKeyId": …, "SecretAccessKey": …, "Token": …, "Expiration": "2026-…Z"}.
    static func credentials(fromJSON text: String, what: String) throws(S3Error) -> (credentials: AWSCredentials, expiration: Double?) {
        let fields = flatStrings(text)
        guard let key = fields["AccessKeyId"], let secret = fields["SecretAccessKey"] else {
            throw S3Error(CAIRN_DENIED, "\(what) answered without AccessKeyId and SecretAccessKey")
        }
        return (AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: fields["Token"]),
                fields["Expiration"].flatMap(parseTime))
    }

    /// The string members of a flat JSON object; credential documents are nothing more.
    static func flatStrings(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var strings: [String] = []
        var current = "", inString = false, escaped = false
        var keyExpected = true
        for character in text {
            if inString {
                if escaped { current.append(character == "n" ? "\n" : character); escaped = false }
                else if character == "\\" { escaped = true }
                else if character == "\"" { inString = false; strings.append(current); current = "" }
                else { current.append(character) }
                continue
            }
            switch character {
            case "\"": inString = true
            case ":": keyExpected = false
            case ",", "{", "}":
                if !keyExpected, strings.count == 2 { result[strings[0]] = strings[1] }
                strings = []; keyExpected = true
            default: break
            }
        }
        return result
    }

    /// "2026-12-05T19:00:00Z" as Unix time; nil for anything else (then never refreshed).
    static func parseTime(_ text: String) -> Double? {
        let milliseconds = S3Time.iso8601Milliseconds(text)
        return milliseconds > 0 ? Double(milliseconds) / 1000 : nil
    }

    private static func get(_ url: String, method: String = "GET", headers: [(String, String)] = [], body: String = "",
                            what: String, timeoutSeconds: Int = 10) throws(S3Error) -> String {
        guard let transport = HTTPTransport() else { throw S3Error(CAIRN_ERROR, "libcurl could not create a handle") }
        transport.connectTimeoutSeconds = timeoutSeconds
        transport.requestTimeoutSeconds = timeoutSeconds
        let response = try withBytes(Array(body.utf8)) { (bytes) throws(S3Error) -> HTTPResponse in
            do throws(TransportError) {
                return try transport.perform(method: method, url: url, headers: headers, body: bytes)
            } catch {
                throw S3Error(CAIRN_IO, "\(what): \(error.message)")
            }
        }
        guard (200..<300).contains(response.status) else {
            throw S3Error(CAIRN_DENIED, "\(what): HTTP \(response.status): \(String(response.text.prefix(200)))")
        }
        return response.text
    }
}
