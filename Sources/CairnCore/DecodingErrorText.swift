import Foundation

/// Turns a DecodingError into "field 'abi.major': expected a number" rather than Swift's dump.
public func describeDecodingError(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return error.localizedDescription }
    func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .keyNotFound(let key, let context):
        let parent = path(context.codingPath)
        return "missing field '\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)'"
    case .typeMismatch(let type, let context):
        return "field '\(path(context.codingPath))' should be \(type)"
    case .valueNotFound(let type, let context):
        return "field '\(path(context.codingPath))' should be \(type), found null"
    case .dataCorrupted(let context):
        let field = path(context.codingPath)
        let underlying = (context.underlyingError as NSError?)?.userInfo["NSDebugDescription"] as? String
        return (field.isEmpty ? "" : "field '\(field)': ") + (underlying ?? context.debugDescription)
    @unknown default:
        return error.localizedDescription
    }
}
