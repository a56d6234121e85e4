import CairnCore
/// Member-name rules shared by the writer (what we produce), the reader (what every verify and
/// restore accepts) and the plugins' restores, so a restore never has to extract a name that could
/// escape its destination or that the file system cannot create.
public enum ArchivePath {
    /// The longest member path, in bytes, with its backup folder: Linux PATH_MAX less its NUL. A
    /// restore creates members under a target folder, so a longer name cannot be restored.
    public static let maxPathBytes = 4095
    /// The longest path component, in bytes: Linux NAME_MAX.
    public static let maxComponentBytes = 255

    /// Why `path` is not a safe relative path, or nil when it is.
    static func problem(_ path: String) -> String? {
        if path.isEmpty { return "empty path" }
        if path.utf8.contains(0) { return "contains a NUL byte" }
        if path.hasPrefix("/") { return "absolute paths are not allowed; use a path relative to the backup folder" }
        if path.utf8.count > maxPathBytes {
            return "it is \(path.utf8.count) bytes long, more than the \(maxPathBytes) bytes a restore can create (PATH_MAX)"
        }
        for component in path.split(separator: "/", omittingEmptySubsequences: false) {
            switch component {
            case "": return "empty component (leading, trailing or doubled '/')"
            case ".": return "'.' components are not allowed"
            case "..": return "'..' components are not allowed"
            default:
                if component.utf8.count > maxComponentBytes {
                    return "a component is \(component.utf8.count) bytes long, more than the \(maxComponentBytes) bytes a file name can have (NAME_MAX)"
                }
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

    /// `path` for a message: a hostile name can be kilobytes long.
    static func shown(_ path: String) -> String {
        guard path.utf8.count > 200 else { return path }
        return "\(String(decoding: path.utf8.prefix(120), as: UTF8.self))…(\(path.utf8.count) bytes)"
    }
}
