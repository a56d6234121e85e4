import Foundation

/// Secrets mounted as files, as Kubernetes Secrets, Docker secrets and systemd credentials are:
/// wherever a secret can come from a variable `NAME` it can also come from the file that
/// `NAME_FILE` names (and a secret setting `key` from the file that `key_file` names). The file
/// holds the secret alone; trailing line ends are dropped, as `kubectl create secret --from-file`
/// and editors leave one. Errors name the file and where its name came from, never its content.
public enum SecretFile {
    /// A secret is small; a larger file is a wrong path (a log, an archive), not a secret.
    public static let limit = 64 << 10

    /// The variable that names `name`'s file: `REDIS_PASSWORD` → `REDIS_PASSWORD_FILE`.
    public static func variable(for name: String) -> String { name + "_FILE" }

    /// The file's content without trailing line ends. `source` says where the path came from
    /// ("environment variable REDIS_PASSWORD_FILE", "cairn.yaml:12:5").
    public static func read(_ path: String, source: String) throws -> String {
        func fail(_ problem: String) -> CairnError {
            .usage("\(source): cannot use secret file '\(path)': \(problem)")
        }
        guard !path.isEmpty else { throw fail("the path is empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fail("no such file (for a Kubernetes Secret: is the volume mounted at that path?)")
        }
        guard !isDirectory.boolValue else { throw fail("it is a folder; name the file inside it") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw fail("not readable by this user (uid \(getuid())); check its mode and owner")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch {
            throw fail("cannot be read (\(describe(error)))")
        }
        guard data.count <= limit else { throw fail("larger than \(limit / 1024) KiB, so not a secret; is the path right?") }
        guard var text = String(data: data, encoding: .utf8) else { throw fail("not UTF-8 text") }
        while let last = text.unicodeScalars.last, last == "\n" || last == "\r" { text.unicodeScalars.removeLast() }
        guard !text.isEmpty else { throw fail("it is empty") }
        return text
    }

    /// The secret of variable `name`: its value, or the content of the file `NAME_FILE` names.
    /// nil when neither is set (or set empty). Both set is an error: which one is meant is unclear.
    public static func fromEnvironment(_ name: String, in environment: [String: String]) throws -> (value: String, origin: ValueOrigin)? {
        let fileVariable = variable(for: name)
        let direct = environment[name].flatMap { $0.isEmpty ? nil : $0 }
        let path = environment[fileVariable].flatMap { $0.isEmpty ? nil : $0 }
        switch (direct, path) {
        case (let value?, nil): return (value, .environment(name))
        case (nil, let path?):
            let origin = ValueOrigin.environment(fileVariable)
            return (try read(path, source: origin.description), origin)
        case (_?, _?):
            throw CairnError.usage("both \(name) and \(fileVariable) are set; unset one (\(fileVariable) names a file that holds the secret)")
        case (nil, nil): return nil
        }
    }
}
