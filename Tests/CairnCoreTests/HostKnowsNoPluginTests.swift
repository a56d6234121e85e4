import CairnTestSupport
import Foundation
import Testing

/// What the host needs from a plugin comes from its manifest or the ABI, never from its name or
/// its settings' names in the host's code: a new store or component must get everything the
/// bundled ones get. Comments may name them as examples; code may not.
@Suite("The host knows no plugin by name")
struct HostKnowsNoPluginTests {
    /// Words that are also Cairn's own vocabulary, each with where it belongs.
    static let hostVocabulary: [String: String] = [
        "type": "cairn.yaml's storage.type, JSON output fields",
        "path": "hooks' path:, tar member paths",
        "dir": "cairn.yaml's logs.dir",
        "compression_level": "cairn.yaml's archive.compression_level",
        "host": "the subject of the resources_exhausted incident key",
        "fsync": "the system call, in I/O error messages",
        "mode": "tar and file modes",
    ]

    /// Names of the bundled plugins, their settings and their actions, read from their manifests.
    static func pluginWords() throws -> [String: String] {
        var words: [String: String] = [:]
        let plugins = TestPaths.packageRoot.appendingPathComponent("Plugins")
        for folder in try FileManager.default.contentsOfDirectory(atPath: plugins.path).sorted() {
            let url = plugins.appendingPathComponent(folder).appendingPathComponent("plugin.json")
            guard let data = try? Data(contentsOf: url),
                  let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let name = manifest["name"] as? String else { continue }
            words[name] = "the \(name) plugin"
            for key in (manifest["settings"] as? [String: Any] ?? [:]).keys { words[key] = "a setting of the \(name) plugin" }
            for key in (manifest["actions"] as? [String: Any] ?? [:]).keys { words[key] = "an action of the \(name) plugin" }
        }
        return words.filter { hostVocabulary[$0.key] == nil }
    }

    @Test func sourcesNameNoBundledPluginNorItsSettings() throws {
        let words = try Self.pluginWords()
        #expect(words["s3"] != nil && words["bucket"] != nil && words["abort_stale_uploads"] != nil, "the manifests were not read: \(words)")
        let sources = TestPaths.packageRoot.appendingPathComponent("Sources")
        var found: [String] = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        #expect(files.count > 50)
        for file in files {
            for (number, line) in try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces).hasPrefix("//") ? "" : String(line)
                for match in code.matches(of: /"([a-z0-9_\-]+)"/) where words[String(match.1)] != nil {
                    found.append("\(file.path.dropFirst(sources.path.count + 1)):\(number + 1): \"\(match.1)\" (\(words[String(match.1)]!))")
                }
            }
        }
        #expect(found.isEmpty, "the host names plugin specifics; declare them in plugin.json instead:\n\(found.joined(separator: "\n"))")
    }
}
