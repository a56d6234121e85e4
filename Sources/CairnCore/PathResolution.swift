import Foundation

/// Resolves a path from the config or the environment: absolute paths stay, relative ones are
/// taken from `base` (a folder, whether or not it exists yet).
public func resolvePath(_ path: String, against base: URL) -> String {
    let joined = path.hasPrefix("/") ? path : base.path + "/" + path
    return URL(fileURLWithPath: joined).standardizedFileURL.path
}
