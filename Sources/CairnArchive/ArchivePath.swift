import CairnCore
/// Member-name rules shared by the writer (what we produce) and the verifier (what we accept),
/// so a restore never has to extract a name that could escape its destination.
enum ArchivePath {
    /// Why `path` is not a safe relative path, or nil when it is.
    static func problem(_ path: String) -> String? {
        if path.isEmpty { return "empty path" }
        if path.utf8.contains(0) { return "contains a NUL byte" }
        if path.hasPrefix("/") { return "absolute paths are not allowed; use a path relative to the backup folder" }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            switch component {
            case "": return "empty component (leading, trailing or doubled '/')"
            case ".": return "'.' components are not allowed"
            case "..": return "'..' components are not allowed"
            default: continue
            }
        }
        return nil
    }

    /// A backup folder name: one safe component.
    static func folderProblem(_ name: String) -> String? {
        if let problem = problem(name) { return problem }
        if name.contains("/") { return "the backup folder must be a single path component" }
        return nil
    }
}
