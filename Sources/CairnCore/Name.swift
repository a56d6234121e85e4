/// Names that Cairn puts into storage keys, incident keys and file paths: components, environments,
/// pipelines, plugins. Lowercase letters, digits, '-' and '_', starting with a letter, so that no
/// name can climb out of its folder ("../x") or nest ("a/b").
public enum Name {
    public static let rule = "lowercase letters, digits, '-' or '_', starting with a letter"

    public static func isValid(_ name: String) -> Bool {
        name.range(of: #"^[a-z][a-z0-9_-]{0,62}$"#, options: .regularExpression) != nil
    }
}
