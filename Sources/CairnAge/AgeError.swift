/// What can be wrong with an age file or the keys given to read it. Each message says what and
/// where, and never shows a key, passphrase or file key.
public enum AgeError: Error, Equatable, CustomStringConvertible {
    /// The object does not start with `age-encryption.org/` (a plain .tar.gz, another format).
    case notAgeFile
    case unsupportedVersion(String)
    /// The header breaks the format: `line` counts from 1.
    case malformedHeader(line: Int, String)
    /// The file ended inside the header, before the payload nonce or before the final chunk.
    case truncated(String)
    /// No identity given can unwrap any stanza: other recipients, or a damaged stanza.
    case noMatchingIdentity(stanzas: [String], identities: Int)
    /// A passphrase file but the header has no scrypt stanza, or the other way round.
    case passphraseMismatch(String)
    case workFactorTooHigh(Int, limit: Int)
    /// The header MAC does not match: the header or its MAC line was changed.
    case headerMACMismatch
    /// A payload chunk fails authentication: the bytes were changed. `offset` is in the object.
    case chunkDamaged(index: UInt64, offset: UInt64)
    /// The chunk at the end of the file fails authentication: cut short inside it, or altered.
    case lastChunkUnreadable(index: UInt64, offset: UInt64)
    /// Bytes after the chunk marked final.
    case trailingData(offset: UInt64)
    /// A recipient or identity that cannot be parsed; `what` says where it came from.
    case invalidKey(what: String, String)

    public var description: String {
        switch self {
        case .notAgeFile:
            return "not an age file: it does not start with 'age-encryption.org/' (a plain archive stored under an .age name, or another format)"
        case .unsupportedVersion(let version):
            return "age format version '\(version)' is not supported (only age-encryption.org/v1)"
        case .malformedHeader(let line, let why):
            return "the age header is damaged at line \(line): \(why)"
        case .truncated(let what):
            return "the age file is truncated: \(what); the upload or copy was probably interrupted"
        case .noMatchingIdentity(let stanzas, let identities):
            return "none of the \(identities) identit\(identities == 1 ? "y" : "ies") given can open it: it was encrypted to "
                + "\(stanzas.isEmpty ? "no recipient" : stanzas.joined(separator: ", ")) recipient\(stanzas.count == 1 ? "" : "s") "
                + "and none matches (the wrong identity file, or a damaged header stanza)"
        case .passphraseMismatch(let why):
            return why
        case .workFactorTooHigh(let log2N, let limit):
            return "its scrypt work factor 2^\(log2N) is above the limit 2^\(limit): refusing to spend that much time and memory"
        case .headerMACMismatch:
            return "the age header's MAC does not match the header: the header or its MAC line was altered"
        case .chunkDamaged(let index, let offset):
            return "payload chunk \(index) (at byte \(offset) of the file) fails authentication: the encrypted data was altered or damaged"
        case .lastChunkUnreadable(let index, let offset):
            return "the last payload chunk (chunk \(index), at byte \(offset) of the file) fails authentication: the file was cut short inside it or its bytes were altered"
        case .trailingData(let offset):
            return "data follows the final payload chunk at byte \(offset): the file was appended to"
        case .invalidKey(let what, let why):
            return "\(what): \(why)"
        }
    }

    /// True when the stored bytes are wrong, as opposed to the keys given to read them.
    public var isDamage: Bool {
        switch self {
        case .noMatchingIdentity, .passphraseMismatch, .workFactorTooHigh, .invalidKey: return false
        default: return true
        }
    }
}
