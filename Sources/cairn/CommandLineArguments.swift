import CairnCore

/// The command line as the commands declare it, from the command line as people type it.
enum CommandLineArguments {
    /// Options every command takes (GlobalOptions): their names, and which take a value.
    static let globalValueOptions: Set<String> = ["--config", "--environment", "--bucket", "--region", "--log-format"]
    static let globalFlags: Set<String> = ["--verbose", "-v", "--json", "--quiet", "-q", "--no-color"]

    /// Global options given before the command (`cairn --config x backup redis`, as with git or
    /// kubectl) move behind the command words, where every command declares them; before a `--`
    /// if there is one, so they stay options.
    static func normalized(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            if globalFlags.contains(argument) || (globalValueOptions.contains(name) && argument.contains("=")) {
                leading.append(argument); index += 1
            } else if globalValueOptions.contains(argument), index + 1 < arguments.count {
                leading += arguments[index...index + 1]; index += 2
            } else {
                break
            }
        }
        var rest = Array(arguments[index...])
        guard !leading.isEmpty, !rest.isEmpty else { return arguments }
        rest.insert(contentsOf: leading, at: rest.firstIndex(of: "--") ?? rest.endIndex)
        return rest
    }

    /// The error for a first word that is no command: `cairn bakup redis` names the command
    /// meant rather than "2 unexpected arguments". nil when the first word is a command or an option.
    static func unknownCommand(_ arguments: [String], commands: [String]) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-"), !commands.contains(word) else { return nil }
        let suggestion = closest(to: word, in: commands).map { " Did you mean '\($0)'?" } ?? ""
        return "unknown command '\(word)'.\(suggestion) (cairn --help lists the commands)"
    }
}
