import CairnCore

/// One case of a conformance run, as `cairn plugins test` prints it.
public struct ConformanceResult: Codable, Sendable {
    public enum Status: String, Codable, Sendable { case pass, warn, fail, skip }
    public var name: String
    public var status: Status
    /// Why it failed, was skipped or deserves a look; what it measured when it passed.
    public var detail: String

    public init(_ name: String, _ status: Status, _ detail: String = "") { self.name = name; self.status = status; self.detail = detail }
}

/// A rule a plugin broke, in words that name the rule and what the plugin did.
public struct ConformanceFailure: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Throws `reason` unless `condition` holds.
public func conform(_ condition: Bool, _ reason: @autoclosure () -> String) throws {
    if !condition { throw ConformanceFailure(reason()) }
}

extension ConformanceResult {
    /// Runs one case: a thrown ConformanceFailure fails it with its reason, any other error with
    /// the error's own words.
    static func run(_ name: String, _ body: () throws -> ConformanceResult.Status?, detail: () -> String = { "" }) -> ConformanceResult {
        do {
            let status = try body() ?? .pass
            return ConformanceResult(name, status, detail())
        } catch let failure as ConformanceFailure {
            return ConformanceResult(name, .fail, failure.reason)
        } catch {
            return ConformanceResult(name, .fail, describe(error))
        }
    }
}
