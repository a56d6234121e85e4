import Foundation
import Testing
@testable import CairnCore
@testable import CairnConfig
import CairnTestSupport

/// What reading a config file refuses, and how: every error names the user's file and where in it.
@Suite("Config file reading")
struct ConfigFileTests {
    let base = URL(fileURLWithPath: "/etc/cairn")

    func parseError(_ text: String) -> CairnError? {
        #expect(throws: CairnError.self) { try ConfigLoader.parse(text: text, path: "cairn.yaml", baseDirectory: base) }
    }

    func fileError(_ url: URL) -> CairnError? {
        #expect(throws: CairnError.self) { try ConfigLoader.parse(file: url) }
    }

    /// The classic nine levels of nine aliases: 10^9 values once expanded, a few hundred bytes written.
    @Test func aBillionLaughsInAComponentsSettingsIsRefusedAtItsLine() {
        let levels = "abcdefghi".map(String.init)
        var bomb = "    lol:\n      a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for (previous, level) in zip(levels, levels.dropFirst()) {
            bomb += "      \(level): &\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        let error = parseError("components:\n  redis:\n    url: redis://localhost:6379\n" + bomb)
        #expect(error?.exitCode == .usage)
        // Line 10 is `f:`, whose value is the first past the budget.
        #expect(error?.message.hasPrefix("cairn.yaml:10:10: this value expands to more than 100000 values through YAML aliases") == true,
                "\(error?.message ?? "")")
    }

    /// Yams hashes every key while it composes: an alias of the bomb in a key's place would expand
    /// there, before anything could count it. It is refused before composing.
    @Test func anAliasWhereAKeyGoesIsRefusedBeforeItCanExpand() {
        var bomb = "lol:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        let levels = "abcdefghi".map(String.init)
        for (previous, level) in zip(levels, levels.dropFirst()) {
            bomb += "  \(level): &\(level) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        let complex = parseError(bomb + "components:\n  ? *i\n  : 1\n")
        #expect(complex?.message == "cairn.yaml:12:5: an alias (*i) stands where a key goes; keys in cairn.yaml are names: write the key out",
                "\(complex?.message ?? "")")
        let implicit = parseError("x: &k name\nstorage: { *k : 1 }\n")
        #expect(implicit?.message.hasPrefix("cairn.yaml:2:12: an alias (*k) stands where a key goes") == true, "\(implicit?.message ?? "")")
        // Quoted or commented, it is text: the error met is the next one (x is no key of cairn.yaml).
        #expect(parseError("x: &k name\nenvironment: \"*k: 1\" # *k: 2\n")?.message.hasPrefix("cairn.yaml:1:1: unknown key 'x'") == true)
    }

    @Test func aliasesWithinTheBoundsStillWork() throws {
        let config = try ConfigLoader.parse(text: """
            components:
              one: { plugin: directory, path: &shared /srv/data, exclude: &skip ["*.tmp", "cache"] }
              two: { plugin: directory, path: *shared, exclude: *skip }
            """, path: "cairn.yaml", baseDirectory: base)
        #expect(config.component(named: "two")?.settings["path"]?.value == .string("/srv/data"))
        #expect(config.component(named: "two")?.settings["exclude"]?.value == .array([.string("*.tmp"), .string("cache")]))
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let error = parseError("components:\n  configs: { plugin: directory, extra: \(deep) }\n")
        #expect(error?.message.contains("nested more than 64 levels deep") == true, "\(error?.message ?? "")")
        #expect(error?.message.hasPrefix("cairn.yaml:2:") == true, "\(error?.message ?? "")")
    }

    @Test func aDuplicateKeyIsReportedWhereItAppearsAgain() {
        let block = parseError("environment: dev\ncomponents:\n  configs:\n    plugin: directory\n    path: /a\n    # the same again\n    path: /b\n")
        #expect(block?.message == "cairn.yaml:7:5: key 'path' appears a second time in this mapping (first at line 5, column 5); keep one",
                "\(block?.message ?? "")")
        let flow = parseError("environment: dev\nstorage: { type: filesystem, root: /a, root: /b }\n")
        #expect(flow?.message.hasPrefix("cairn.yaml:2:40: key 'root' appears a second time") == true, "\(flow?.message ?? "")")
        #expect(flow?.exitCode == .usage)
        // Yams' own description carries the whole document; values (passwords) must not leak.
        let secret = parseError("storage:\n  secret_key: hunter2\n  secret_key: hunter2\n")
        #expect(secret?.message.contains("hunter2") == false)
        #expect(secret?.message.hasPrefix("cairn.yaml:3:3:") == true, "\(secret?.message ?? "")")
    }

    @Test func invalidUTF8IsReportedWithLineAndByteOffset() throws {
        let dir = try TemporaryDirectory("cairn-config")
        let file = dir.path("cairn.yaml")
        try Data("environment: dev\nstorage: { root: caf".utf8 + [0xE9] + " }\n".utf8).write(to: file)
        let error = fileError(file)
        #expect(error?.message == "\(file.path):2:21: config file is not valid UTF-8 (byte offset 37); save it as UTF-8 text",
                "\(error?.message ?? "")")
        #expect(error?.exitCode == .usage)
    }

    @Test func aBinaryFileIsNamedAsOne() throws {
        let dir = try TemporaryDirectory("cairn-config")
        let file = dir.path("cairn.yaml")
        try Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]).write(to: file)
        let error = fileError(file)
        #expect(error?.message.hasPrefix("\(file.path):1:8: config file contains a NUL byte (byte offset 7)") == true, "\(error?.message ?? "")")
    }

    @Test func whatIsNotARegularFileIsRefusedWithoutReadingIt() throws {
        let dir = try TemporaryDirectory("cairn-config")
        let fifo = dir.path("cairn.yaml")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        // Opening a FIFO for reading would wait for a writer forever.
        #expect(fileError(fifo)?.message == "config file \(fifo.path) is not a regular file (it is a FIFO); give the path of a YAML file with --config or CAIRN_CONFIG")
        #expect(fileError(URL(fileURLWithPath: "/dev/zero"))?.message.contains("/dev/zero is not a regular file (it is a character device)") == true)
        #expect(fileError(dir.url)?.message.contains("is not a regular file (it is a directory)") == true)
    }

    /// Cairn's own YAML is no place an operator can open: an error met in a built-in pipeline's
    /// step names where the bad value came from, not "built-in pipelines:7:9".
    @Test func builtInPipelinesComeFromNoFile() throws {
        let steps = try BuiltInPipelines.all(components: ["configs"]).flatMap(\.steps)
        #expect(steps.count > 5)
        for step in steps { #expect(step.origin == .builtIn, "\(step.name): \(step.origin)") }
    }

    @Test func aFileLargerThanTheBoundIsRefused() throws {
        let dir = try TemporaryDirectory("cairn-config")
        let file = dir.path("cairn.yaml")
        try Data(String(repeating: "# padding\n", count: 110_000).utf8).write(to: file)
        let error = fileError(file)
        #expect(error?.message == "config file \(file.path) is larger than 1024 KiB; a cairn.yaml is a few kilobytes: is this the right file?")
    }
}
