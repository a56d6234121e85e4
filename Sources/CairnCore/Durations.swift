import Foundation

/// "1h30m", "45s", "2m", "2d" -> seconds; nil when it is not a positive duration.
public func parseDuration(_ text: String) -> Double? {
    let pattern = #"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$"#
    guard !text.isEmpty, let regex = try? NSRegularExpression(pattern: pattern),
          let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
    var total = 0.0
    for (group, unit) in [(1, 86400.0), (2, 3600.0), (3, 60.0), (4, 1.0)] {
        if let range = Range(match.range(at: group), in: text), let value = Double(text[range]) { total += value * unit }
    }
    return total > 0 ? total : nil
}

/// "45s", "3m05s": a step's timeout or a retry delay in messages.
public func formatSeconds(_ seconds: Double) -> String {
    seconds >= 60 ? String(format: "%.0fm%02.0fs", (seconds / 60).rounded(.down), seconds.truncatingRemainder(dividingBy: 60))
        : String(format: "%.0fs", seconds)
}

/// "3h12m", "2d4h" for ages in reports.
public func formatAge(_ seconds: Double) -> String {
    let total = Int(max(0, seconds))
    let days = total / 86400, hours = total % 86400 / 3600, minutes = total % 3600 / 60
    if days > 0 { return "\(days)d\(hours)h" }
    if hours > 0 { return "\(hours)h\(String(format: "%02d", minutes))m" }
    return minutes > 0 ? "\(minutes)m" : "\(total)s"
}

/// Sleeps `seconds` unless cancelled first; false when cancelled.
public func sleep(_ seconds: Double, unless cancellation: Cancellation) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if cancellation.isCancelled { return false }
        Thread.sleep(forTimeInterval: min(0.1, end.timeIntervalSinceNow))
    }
    return !cancellation.isCancelled
}
