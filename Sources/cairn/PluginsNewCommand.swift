import ArgumentParser
import CairnCore
import CairnPluginKit
import Foundation

extension PluginsCommand {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a component plugin skeleton in C or Swift that builds and passes 'cairn plugins test'.",
            discussion: """
            The skeleton backs up the regular files directly inside the folder of its 'path' \
            setting, verifies with the file count it recorded, and restores into a folder: a \
            complete plugin to change into your own. It is written into NAME/ (or --output).

            C: NAME.c, plugin.json and a Makefile that builds libNAME.so against the header Cairn \
            installs (pkg-config cairn-plugin). 'make test' runs the conformance suite.
            Swift: Package.swift, the plugin's source and plugin.json; 'swift build -c release' \
            with the toolchain that built cairn (the host refuses Swift plugins of any other).

            Examples:
              cairn plugins new mydb --lang c && cd mydb && make && cairn plugins test ./libmydb.so --set path=/srv/data
              cairn plugins new mydb --lang swift --output ~/src/cairn-mydb
            """)

        @Argument(help: "The plugin's name: lower-case letters, digits, '-' and '_'.")
        var name: String

        @Option(help: "The language: c or swift.")
        var lang: String

        @Option(help: "The folder to write (default: ./NAME); must not exist or be empty.")
        var output: String?

        func run() throws {
            guard let language = PluginSkeleton.Language(rawValue: lang.lowercased()) else {
                throw CairnError.usage("--lang \(lang): expected c or swift")
            }
            let skeleton = try PluginSkeleton(name: name, language: language)
            let folder = URL(fileURLWithPath: output ?? name)
            let written = try skeleton.write(into: folder)
            for file in written { Output.line("wrote \(file.path)") }
            Output.line("next: cd \(folder.path) && \(skeleton.buildCommand) && cairn plugins test ./\(skeleton.builtLibrary) --set path=/some/folder")
        }
    }
}
