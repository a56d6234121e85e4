extension Workspace {
    /// The components a command covers: those named (each must be known), else every configured one.
    public func componentNames(_ named: [String]) throws -> [String] {
        if !named.isEmpty {
            for name in named { try requireComponent(name) }
            return named
        }
        let configured = config.components.map(\.name)
        guard !configured.isEmpty else {
            throw CairnError.usage("no components are configured in \(config.file ?? "the configuration (no cairn.yaml found)"); name them on the command line (e.g. redis) or add them under 'components:'")
        }
        return configured
    }
}
