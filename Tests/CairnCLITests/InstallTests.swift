import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// scripts/install as an operator runs it: the installed binary finds its plugins and hooks, and
/// the shell completions it writes complete cairn's commands.
@Suite("scripts/install", .serialized)
struct InstallTests {
    @Test func anInstalledCairnFindsItsPluginsHooksAndCompletes() throws {
        let temp = try TemporaryDirectory("cairn-install")
        let prefix = temp.path("prefix")
        // The built binaries, not a new build: the suite is already running from them.
        let install = try runShell("""
            CAIRN_BIN_DIR='\(TestPaths.buildDirectory.path)' '\(TestPaths.packageRoot.path)/scripts/install' '\(prefix.path)'
            """, check: false)
        #expect(install.status == 0, "\(install.text)\(install.stderr)")
        let cairn = prefix.appendingPathComponent("bin/cairn").path

        let plugins = try runTool([cairn, "plugins", "list", "--json"], in: temp.url)
        guard case .array(let rows) = try JSONValue.parse(plugins.text) else { Issue.record("no plugin list"); return }
        #expect(Set(rows.compactMap { $0["name"]?.stringValue }) == ["directory", "filesystem", "redis", "s3", "weaviate"])
        for row in rows {
            #expect(row["status"] == .string("ok"), "\(row)")
            #expect(row["path"]?.stringValue?.hasPrefix(prefix.appendingPathComponent("lib/cairn").path) == true, "\(row)")
        }
        // An outside plugin author's build line: the header through pkg-config, nothing from the source tree.
        let build = try runShell("""
            PKG_CONFIG_PATH='\(prefix.path)/lib/pkgconfig' && export PKG_CONFIG_PATH && \
            cc $(pkg-config --cflags cairn-plugin) -shared -fPIC -o '\(temp.path("libteststore.so").path)' \
              '\(TestPaths.fixtures.appendingPathComponent("test_plugin.c").path)' && pkg-config --cflags cairn-plugin
            """, check: false)
        #expect(build.status == 0, "\(build.text)\(build.stderr)")
        #expect(build.text.contains("/include/cairn"), "\(build.text)")

        // A bundled escalation hook named by its file name alone is found in the installed layout
        // and delivers: a failed backup (its folder is missing) pages through it.
        let webhook = try RecordingWebhook(in: temp.url, mode: "slack")
        try """
            storage: { type: filesystem, root: \(temp.path("store").path) }
            state: { path: \(temp.path("state.sqlite").path) }
            components: { configs: { plugin: directory, path: \(temp.path("missing").path) } }
            escalation: { consecutive_failures: 1, hooks: [{ path: escalate-webhook.py, pass_env: [CAIRN_WEBHOOK_URL] }] }
            """.write(to: temp.path("cairn.yaml"), atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["CAIRN_WEBHOOK_URL"] = webhook.url
        environment["CAIRN_CONFIG"] = nil
        let failed = try runTool([cairn, "backup", "configs"], in: temp.url, environment: environment, check: false)
        #expect(failed.status == 1)
        #expect(webhook.bodies.count == 1, "\(failed.stderr)")

        // The plugin worker is installed beside the binary: a bundled plugin runs in it on request.
        try FileManager.default.createDirectory(at: temp.path("data"), withIntermediateDirectories: true)
        try "data\n".write(to: temp.path("data/file.txt"), atomically: true, encoding: .utf8)
        try """
            storage: { type: filesystem, root: \(temp.path("store").path) }
            state: { path: \(temp.path("state.sqlite").path) }
            components: { data: { plugin: directory, path: \(temp.path("data").path), isolation: process } }
            """.write(to: temp.path("isolated.yaml"), atomically: true, encoding: .utf8)
        environment["CAIRN_CONFIG"] = temp.path("isolated.yaml").path
        environment["CAIRN_PLUGIN_WORKER"] = nil
        let isolated = try runTool([cairn, "backup", "data"], in: temp.url, environment: environment, check: false)
        #expect(isolated.status == 0, "\(isolated.stderr)")

        let completion = try runShell("""
            PATH='\(prefix.path)/bin':$PATH bash -c 'source "\(prefix.path)/share/bash-completion/completions/cairn"; \
            COMP_WORDS=(cairn ba); COMP_CWORD=1; COMP_LINE="cairn ba"; COMP_POINT=8; _cairn cairn ba cairn; echo "${COMPREPLY[@]}"'
            """, check: false)
        #expect(completion.text.trimmingCharacters(in: .whitespacesAndNewlines) == "backup", "\(completion.text)\(completion.stderr)")
        for file in ["share/zsh/site-functions/_cairn", "share/fish/vendor_completions.d/cairn.fish"] {
            let text = try String(contentsOf: prefix.appendingPathComponent(file), encoding: .utf8)
            #expect(text.contains("backup") && text.contains("incidents"), "\(file)")
        }
    }
}
