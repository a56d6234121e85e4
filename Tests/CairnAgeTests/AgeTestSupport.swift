import CairnCore
import Foundation
@testable import CairnAge
import CairnTestSupport

/// Encrypts and decrypts in memory, and runs the age CLI on files.
enum Age {
    /// Sealed in the background as AgeStore does, or on the calling thread.
    static func encrypt(_ data: Data, _ keys: AgeEncryptionKeys, writeSize: Int = 10_000, background: Bool = true) throws -> Data {
        let sink = DataByteSink()
        let writer = try AgeWriter(sink: sink, keys: keys, background: background)
        var offset = 0
        while offset < data.count {
            let end = min(offset + writeSize, data.count)
            try data[offset..<end].withUnsafeBytes { try writer.write($0) }
            offset = end
        }
        try writer.finish()
        return sink.data
    }

    /// Both ways of reading (chunks decrypted on the reading thread, or prefetched on another)
    /// must give the same bytes and the same error.
    static func decrypt(_ data: Data, _ keys: AgeDecryptionKeys, readSize: Int = 7_001) throws -> Data {
        let direct = Result { try decrypt(data, keys, readSize: readSize, prefetch: false) }
        let prefetched = Result { try decrypt(data, keys, readSize: readSize, prefetch: true) }
        switch (direct, prefetched) {
        case (.success(let a), .success(let b)) where a == b: return a
        case (.failure(let a), .failure(let b)) where "\(a)" == "\(b)": throw a
        default: throw AgeError.invalidKey(what: "test", "prefetching changed the result: \(direct) vs \(prefetched)")
        }
    }

    static func decrypt(_ data: Data, _ keys: AgeDecryptionKeys, readSize: Int, prefetch: Bool) throws -> Data {
        let reader = AgeReader(source: DataByteSource(data, maxReadSize: 50_000), keys: keys, prefetch: prefetch)
        defer { reader.stop() }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: readSize)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// A key pair made by age-keygen: the identity file and its recipient.
    static func keygen(_ directory: TemporaryDirectory, _ name: String) throws -> (file: URL, recipient: String) {
        let file = directory.path(name)
        try runTool(["age-keygen", "-o", file.path])
        let recipient = try runTool(["age-keygen", "-y", file.path]).text.trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, recipient)
    }

    /// Runs age with a terminal, answering its passphrase prompts (age reads passphrases only
    /// from a terminal): `script` gives it a pseudo-terminal fed from our stdin.
    @discardableResult
    static func withTerminal(_ command: String, answers: [String], in directory: URL) throws -> ToolResult {
        let input = answers.map { $0 + "\n" }.joined()
        let script = "(printf '%s' \"$ANSWERS\"; sleep 2) | script -q -e -c \"$COMMAND\" /dev/null"
        var environment = ProcessInfo.processInfo.environment
        environment["ANSWERS"] = input
        environment["COMMAND"] = command
        return try runTool(["sh", "-c", script], in: directory, environment: environment)
    }
}
