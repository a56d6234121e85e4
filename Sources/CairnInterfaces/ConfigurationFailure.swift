import CairnCore

/// Errors that say the configuration is wrong, met only when a step runs: a usage error, or a
/// store that answers that what it was told to use does not exist or cannot be used as
/// configured (S3's NoSuchBucket, a bucket in another region; StoreError kind `invalid`). The
/// run stops with exit 2 and escalates nothing: a typo is no incident, and no failed backup.
public enum ConfigurationFailure {
    public static func describes(_ error: any Error) -> Bool {
        if let error = error as? CairnError { return error.kind == .usage }
        if let error = error as? StoreError { return error.kind == .invalid }
        return false
    }
}
