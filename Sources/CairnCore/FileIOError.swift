import Foundation

/// A failed system call on a file, with the path and operation so the message is actionable
/// on its own ("open /backups/x.tgz: Permission denied").
public struct FileIOError: Error, CustomStringConvertible, Equatable, Sendable {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(_ operation: String, path: String, code: Int32 = errno) {
        self.operation = operation; self.path = path; self.code = code
    }

    public var description: String {
        "\(operation) \(path): \(String(cString: strerror(code)))"
    }
}
