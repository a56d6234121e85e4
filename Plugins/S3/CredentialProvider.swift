import CCairnPlugin
import CairnPluginSupport
import Glibc

/// The credentials every request is signed with. Keys from variables or files never change;
/// temporary ones (web identity, container, instance role) are fetched again before they expire,
/// also in the middle of a long upload, by whichever upload thread needs them first.
final class CredentialProvider: @unchecked Sendable {
    // @unchecked: `cached` and `expiration` are guarded by `lock`.
    typealias Fetch = () throws(S3Error) -> (credentials: AWSCredentials, expiration: Double?)

    /// Fetch again this long before the expiration, so no request is signed with keys about to lapse.
    static let refreshMargin = 300.0

    /// "environment", "web identity (role arn:…)", "container credentials endpoint"...: never the values.
    let source: String
    private let fetch: Fetch?
    private var cached: AWSCredentials
    private var expiration: Double?
    private var lock = pthread_mutex_t()

    init(fixed credentials: AWSCredentials, source: String) {
        self.source = source; self.fetch = nil; self.cached = credentials; self.expiration = nil
        pthread_mutex_init(&lock, nil)
    }

    init(source: String, fetch: @escaping Fetch) throws(S3Error) {
        let first = try fetch()
        self.source = source; self.fetch = fetch; self.cached = first.credentials; self.expiration = first.expiration
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    func current() throws(S3Error) -> AWSCredentials {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let fetch, let expiration, Double(now()) >= expiration - Self.refreshMargin {
            let fresh = try fetch()
            cached = fresh.credentials
            self.expiration = fresh.expiration
        }
        return cached
    }
}
