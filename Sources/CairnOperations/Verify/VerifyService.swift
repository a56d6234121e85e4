import CairnCore
import CairnInterfaces

/// `cairn verify`: one stored backup of a component, checked whole (ArchiveCheck.full).
public struct VerifyService {
    public var store: any ObjectStore
    public var storeDescription: String
    public var environment: String

    public init(store: any ObjectStore, storeDescription: String, environment: String) {
        self.store = store; self.storeDescription = storeDescription; self.environment = environment
    }

    public func verify(component name: String, source: any ComponentSource, selector: BackupSelector) throws -> VerificationReport {
        let key = try selector.storedKey(in: store.layout(component: name, environment: environment), store: store)
        guard try store.stat(key: key) != nil else {
            throw CairnError.failure("no backup at \(key) in \(storeDescription) (see cairn list \(name))")
        }
        return try ArchiveCheck(store: store).full(key: key, expectedBackupID: selector.expectedID, component: source)
    }
}
