import CCairnPlugin

/// A validated object key: a relative '/'-separated path whose parts are neither empty nor start
/// with '.'. That rules out '..' (escaping the root) and the store's own hidden temporary files.
/// Keys are judged byte by byte, as the file system sees them: Swift's Character view could merge
/// a '/' or '.' with a neighbouring combining mark and hide it.
struct ObjectKey {
    let text: String
    let components: [String]

    init(_ pointer: UnsafePointer<CChar>?, role: String = "key") throws(FilesystemError) {
        guard let pointer else { throw FilesystemError(CAIRN_INVALID, "no \(role) given") }
        guard let text = String(validatingCString: pointer) else {
            throw FilesystemError(CAIRN_INVALID, "the \(role) is not valid UTF-8")
        }
        try self.init(text, role: role)
    }

    init(_ text: String, role: String = "key") throws(FilesystemError) {
        let parts = Self.split(text)
        let problem: String?
        if text.utf8.isEmpty {
            problem = "it is empty"
        } else if text.utf8.first == Self.slash {
            problem = "it is absolute"
        } else if parts.contains(where: \.utf8.isEmpty) {
            problem = "it has an empty part"
        } else if parts.contains(where: { $0.utf8.first == Self.dot }) {
            problem = "a part starts with '.' (hidden, '.' and '..' parts are not allowed)"
        } else {
            problem = nil
        }
        if let problem {
            throw FilesystemError(CAIRN_INVALID, "invalid \(role) '\(text)': \(problem); keys are relative "
                             + "'/'-separated paths such as 'redis/prod/latest.tar.gz'")
        }
        self.text = text
        self.components = parts
    }

    static let slash = UInt8(ascii: "/")
    static let dot = UInt8(ascii: ".")

    /// Splits at every '/' byte, keeping empty parts.
    static func split(_ text: String) -> [String] {
        text.utf8.split(separator: slash, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// The last part, the object's file name.
    var baseName: String { components.last ?? text }

    /// The parts of the directory that holds the object (empty for a key at the root).
    var directoryComponents: ArraySlice<String> { components.dropLast() }
}
