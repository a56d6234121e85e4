import CCairnPlugin
import Glibc

/// Finds credentials the way the AWS CLI does: explicit settings (which the host fills from
/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN), then the shared credentials
/// file, then the config file, for profile `profile` (AWS_PROFILE, else "default"); without
/// keys, temporary credentials from web identity, a container endpoint or the instance role
/// (CredentialSources).
enum CredentialChain {
    struct Found {
        var credentials: AWSCredentials
        /// Where they came from, for logs ("environment", "~/.aws/credentials [prod]"); never the values.
        var source: String
        /// `region` from the profile's config section, if any.
        var profileRegion: String?
    }

    static func resolve(accessKeyID: String?, secretAccessKey: String?, sessionToken: String?,
                        profile: String?, environment: (String) -> String? = CredentialChain.env)
        throws(S3Error) -> Found
    {
        guard let found = try keys(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken,
                                   profile: profile, environment: environment) else {
            throw noCredentials(profile: profile, environment: environment)
        }
        return found
    }

    /// Signs with the keys found, or else with the first temporary source that applies.
    static func provider(keys: Found?, stsURL: String, profile: String?,
                         environment: @escaping (String) -> String? = CredentialChain.env) throws(S3Error) -> CredentialProvider {
        if let keys { return CredentialProvider(fixed: keys.credentials, source: keys.source) }
        if let provider = try CredentialSources.webIdentity(environment, stsURL: stsURL) { return provider }
        if let provider = try CredentialSources.container(environment) { return provider }
        if let provider = try CredentialSources.instanceMetadata(environment) { return provider }
        throw noCredentials(profile: profile, environment: environment)
    }

    static func noCredentials(profile: String?, environment: (String) -> String?) -> S3Error {
        let name = nonEmpty(profile) ?? "default"
        let home = environment("HOME") ?? ""
        let credentialsPath = nonEmpty(environment("AWS_SHARED_CREDENTIALS_FILE")) ?? home + "/.aws/credentials"
        let configPath = nonEmpty(environment("AWS_CONFIG_FILE")) ?? home + "/.aws/config"
        return S3Error(CAIRN_DENIED, "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                       + "AWS_PROFILE (profile '\(name)' has no keys in \(credentialsPath) or \(configPath)), or run where "
                       + "web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), a container credentials endpoint or an instance role provides them")
    }

    /// Keys from settings, variables or the shared files; nil when there are none.
    static func keys(accessKeyID: String?, secretAccessKey: String?, sessionToken: String?,
                     profile: String?, environment: (String) -> String? = CredentialChain.env) throws(S3Error) -> Found? {
        let name = nonEmpty(profile) ?? "default"
        let home = environment("HOME") ?? ""
        let credentialsPath = nonEmpty(environment("AWS_SHARED_CREDENTIALS_FILE")) ?? home + "/.aws/credentials"
        let configPath = nonEmpty(environment("AWS_CONFIG_FILE")) ?? home + "/.aws/config"
        let credentialsFile = readINI(credentialsPath)
        let configFile = readINI(configPath)
        // In the config file every profile but "default" is spelled [profile NAME].
        let configSection = configFile[name == "default" ? "default" : "profile " + name]
            ?? configFile["profile " + name]
        let region = configSection?["region"]

        if let key = nonEmpty(accessKeyID), let secret = nonEmpty(secretAccessKey) {
            return Found(credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                                     sessionToken: nonEmpty(sessionToken)),
                         source: "settings or environment", profileRegion: region)
        }
        for (section, file) in [(credentialsFile[name], credentialsPath), (configSection, configPath)] {
            guard let section, let key = nonEmpty(section["aws_access_key_id"]),
                  let secret = nonEmpty(section["aws_secret_access_key"]) else { continue }
            return Found(credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret,
                                                     sessionToken: nonEmpty(section["aws_session_token"])),
                         source: "\(file) [\(name)]", profileRegion: region)
        }
        if nonEmpty(accessKeyID) != nil || nonEmpty(secretAccessKey) != nil {
            throw S3Error(CAIRN_DENIED, "incomplete AWS credentials: AWS_ACCESS_KEY_ID and "
                          + "AWS_SECRET_ACCESS_KEY (settings access_key_id / secret_access_key) must both be set")
        }
        return nil
    }

    static func env(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    static func nonEmpty(_ value: String?) -> String? {
        guard let value else { return nil }
        let trimmed = String(value.trimmingSpaces())
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Sections of an INI file as the AWS CLI reads it: `[name]`, `key = value`, `#`/`;` comments.
    /// A missing or unreadable file is empty.
    static func readINI(_ path: String) -> [String: [String: String]] {
        readText(path).map(parseINI) ?? [:]
    }

    /// A small file's text; nil when it cannot be read.
    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func parseINI(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = String(rawLine).trimmingSpaces()
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            if line.first == "[", line.last == "]" {
                let name = String(line.dropFirst().dropLast()).trimmingSpaces()
                current = name.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                if let current, sections[current] == nil { sections[current] = [:] }
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingSpaces().lowercased()
            let value = String(line[line.index(after: equals)...]).trimmingSpaces()
            sections[current]?[String(key)] = String(value)
        }
        return sections
    }
}
