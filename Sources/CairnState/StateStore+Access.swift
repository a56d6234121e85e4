import CairnCore
import Foundation
import GRDB

/// Every read and write of the state database goes through here, so a failure names the file and
/// what to do about it instead of SQLite's raw text and the statement that failed.
extension StateStore {
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch let error as DatabaseError { throw explain(error) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as DatabaseError { throw explain(error) }
    }

    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.writeWithoutTransaction(body) } catch let error as DatabaseError { throw explain(error) }
    }

    func explain(_ error: DatabaseError) -> StateDatabaseError {
        Self.explain(error, path: path)
    }

    static func explain(_ error: DatabaseError, path: String) -> StateDatabaseError {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fix: String
        var cause = StateDatabaseError.Cause.other
        switch error.resultCode {
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_CANTOPEN, .SQLITE_AUTH:
            cause = .notWritable
            fix = "the database or its folder is not writable by this user (\(currentUser())); fix the owner or permissions of \(path) and \(folder), or set state.path in cairn.yaml to a writable place"
        case .SQLITE_FULL:
            cause = .disk
            fix = "the disk holding \(folder) is full; free space there (old logs, temp files) or set state.path in cairn.yaml to another disk"
        case .SQLITE_IOERR:
            cause = .disk
            fix = "the disk holding \(folder) failed a read or write; check the disk (dmesg) and its free space"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            fix = "the file is damaged or not a Cairn state database; move it aside (it is rebuilt empty) or set state.path in cairn.yaml"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            fix = "another process held the database for too long; check for a stuck cairn process"
        default:
            fix = "see the SQLite error above; set state.path in cairn.yaml to use another file"
        }
        // The message only: the statement and its arguments stay out of errors (they may hold paths or secrets).
        return StateDatabaseError(cause: cause, message: "the state database \(path) failed: \(error.message ?? "SQLite error \(error.resultCode.rawValue)"): \(fix)")
    }

    private static func currentUser() -> String {
        getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(geteuid())"
    }
}

/// The state database could not be read or written; `message` names the file and the fix.
public struct StateDatabaseError: Error, CustomStringConvertible, Sendable {
    public enum Cause: Sendable {
        /// Out of space, or the disk failed a write: a host resource problem on-call must hear of.
        case disk
        /// Permissions: the operator's to fix.
        case notWritable
        case other
    }

    public var cause: Cause
    public var message: String
    public var description: String { message }
}
