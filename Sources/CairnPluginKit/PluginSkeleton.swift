import CairnCore
import CairnPluginHost
import Foundation

/// `cairn plugins new`: a component plugin that builds and passes `cairn plugins test` as written,
/// for the author to change into their own. C builds with make against the installed header
/// (pkg-config cairn-plugin); Swift with SwiftPM, through a module map over the same header.
public struct PluginSkeleton {
    public enum Language: String, CaseIterable, Sendable { case c, swift }

    public let name: String
    public let language: Language

    /// `name`: lower-case letters, digits, '-' and '_', starting with a letter (a plugin name in
    /// cairn.yaml, a file name, and the base of C and Swift identifiers).
    public init(name: String, language: Language) throws {
        guard let first = name.first, first.isASCII, first.isLowercase,
              name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "_" }), name.count <= 64 else {
            throw CairnError.usage("plugin name '\(name)' must start with a lower-case letter and hold only a-z, 0-9, '-' and '_' (e.g. mydb)")
        }
        self.name = name
        self.language = language
    }

    /// The Swift module and library base: "my-db" -> "MyDb".
    var module: String {
        name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
    /// The library file the build produces.
    public var library: String { language == .c ? "lib\(name).so" : "lib\(module).so" }
    /// Where the build puts it, relative to the skeleton's folder.
    public var builtLibrary: String { language == .c ? library : ".build/release/\(library)" }
    /// The command that builds it, run in the skeleton's folder.
    public var buildCommand: String { language == .c ? "make" : "swift build -c release" }

    /// The files, by path relative to the skeleton's folder.
    public var files: [(path: String, text: String)] {
        let env = name.uppercased().replacingOccurrences(of: "-", with: "_")
        let manifest = """
            {
              "name": "\(name)",
              "kind": "component",
              "version": "0.1.0",
              "abi": { "major": \(HostABI.major), "minor": \(HostABI.minor) },
              "library": "\(library)",
              "language": "\(language.rawValue)",
              "toolchain": "\(language == .c ? "none" : "swift")",
              "description": "Backs up the regular files directly inside a folder (a skeleton: make it yours).",
              "capabilities": ["check", "backup", "verify", "restore"],
              "settings": {
                "path": { "type": "path", "required": true, "env": "\(env)_PATH",
                          "description": "The folder whose files are backed up." }
              }
            }

            """
        switch language {
        case .c:
            let makefile = """
                # Builds \(library) against the plugin header Cairn installs (pkg-config cairn-plugin).
                # Without pkg-config: make CAIRN_CFLAGS=-I/path/to/include/cairn
                CAIRN_CFLAGS ?= $(shell pkg-config --cflags cairn-plugin)
                CFLAGS ?= -O2 -Wall -Wextra

                \(library): \(name).c
                \t$(CC) $(CFLAGS) $(CAIRN_CFLAGS) -shared -fPIC -fvisibility=hidden -o $@ $<

                # The conformance suite, backing up this folder.
                test: \(library)
                \tcairn plugins test ./\(library) --set path=$(CURDIR)

                clean:
                \trm -f \(library)

                .PHONY: test clean

                """
            return [("\(name).c", Self.cSource.replacingOccurrences(of: "@NAME@", with: name)),
                    ("Makefile", makefile), ("plugin.json", manifest)]
        case .swift:
            let package = """
                // swift-tools-version: 6.0
                // Builds \(builtLibrary) with the Swift toolchain that built cairn (the host refuses any other).
                // The header comes from Cairn's install through pkg-config (cairn-plugin.pc); without it, set
                // PKG_CONFIG_PATH to the folder that holds cairn-plugin.pc.
                import PackageDescription

                let package = Package(
                    name: "\(name)",
                    products: [.library(name: "\(module)", type: .dynamic, targets: ["\(module)"])],
                    targets: [
                        .systemLibrary(name: "CCairnPlugin", path: "Sources/CCairnPlugin", pkgConfig: "cairn-plugin"),
                        .target(name: "\(module)", dependencies: ["CCairnPlugin"], resources: [.copy("plugin.json")]),
                    ]
                )

                """
            return [("Package.swift", package),
                    ("Sources/CCairnPlugin/module.modulemap", "module CCairnPlugin [system] {\n    header \"shim.h\"\n    export *\n}\n"),
                    ("Sources/CCairnPlugin/shim.h", "#include <cairn_plugin.h>\n"),
                    ("Sources/\(module)/Plugin.swift", Self.swiftSource.replacingOccurrences(of: "@NAME@", with: name)),
                    ("Sources/\(module)/plugin.json", manifest)]
        }
    }

    /// Writes the files into `folder`, which must not exist or be empty; returns their paths.
    public func write(into folder: URL) throws -> [URL] {
        let fm = FileManager.default
        if let existing = try? fm.contentsOfDirectory(atPath: folder.path), !existing.isEmpty {
            throw CairnError.usage("\(folder.path) already exists and is not empty: give a new folder (--output DIR) or remove it")
        }
        return try files.map { file in
            let url = folder.appendingPathComponent(file.path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
    }
}
