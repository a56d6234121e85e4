import CairnCore
import Foundation

/// What `cairn prune` did (or, with --dry-run, would do) per component.
public struct PruneReport: Codable, Sendable {
    /// An object under the prefix that prune leaves alone, and why.
    public struct Untouched: Codable, Sendable {
        public var key: String
        public var reason: String
    }

    /// An archive the policy lets go that the store locks against deletion (S3 Object Lock):
    /// prune leaves it, and a later prune deletes it once `until` has passed.
    public struct Locked: Codable, Sendable {
        public var key: String
        /// ISO 8601 (UTC), or "indefinitely (legal hold)" for a hold with no date.
        public var until: String

        public init(key: String, until date: Date) {
            self.key = key
            until = date == .distantFuture ? "indefinitely (legal hold)" : date.formatted(.iso8601)
        }
    }

    public struct Component: Codable, Sendable {
        public var component: String
        public var environment: String
        public var policy: RetentionPolicy?
        /// Every backup, newest first, with the rules that keep it (none: it goes).
        public var decisions: [RetentionPlanner.Decision] = []
        /// Keys deleted (with --dry-run: that would be deleted).
        public var deleted: [String] = []
        public var untouched: [Untouched] = []
        /// Archives the policy lets go that are locked until a later date.
        public var locked: [Locked] = []
        /// How many objects the store's own cleanup removed (PruneService.StoreCleanup); nil when
        /// the store has none, or in a dry run.
        public var cleanedUp: Int?
        public var notes: [String] = []
        public var errors: [String] = []

        enum CodingKeys: String, CodingKey {
            case component, environment, policy, decisions, deleted, untouched, locked, notes, errors
            case cleanedUp = "cleaned_up"
        }
    }

    public var dryRun: Bool
    public var components: [Component]
    public var ok: Bool { components.allSatisfy { $0.errors.isEmpty } }

    enum CodingKeys: String, CodingKey { case dryRun = "dry_run", components, ok }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(dryRun, forKey: .dryRun); try c.encode(components, forKey: .components); try c.encode(ok, forKey: .ok)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dryRun = try c.decode(Bool.self, forKey: .dryRun)
        components = try c.decode([Component].self, forKey: .components)
    }

    public init(dryRun: Bool, components: [Component]) { self.dryRun = dryRun; self.components = components }
}
