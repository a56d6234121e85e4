import Foundation

/// Parses a size as operators write it in configuration: "1024", "10GB", "10 GB", "1.5G", "512MiB".
///
/// K, M, G, T, P (with or without a trailing B) are powers of 1000; Ki, Mi, Gi, Ti, Pi (with or without
/// B) are powers of 1024, as in Kubernetes quantities and `df -H` vs `df -h`. Units are case-insensitive
/// and "b" means bytes, never bits. A bare number is bytes. Fractions are allowed and the result is
/// rounded down to whole bytes.
public func parseByteSize(_ text: String) throws -> UInt64 {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let numberEnd = trimmed.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? trimmed.endIndex
    let number = trimmed[..<numberEnd]
    let unit = trimmed[numberEnd...].trimmingCharacters(in: .whitespaces)
    let parts = number.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
    let examples = "expected a number with an optional unit, e.g. 1024, 10GB, 10 GB, 1.5G or 512MiB"
    guard !number.isEmpty, parts.count <= 2, parts.contains(where: { !$0.isEmpty }) else {
        throw CairnError.usage("'\(text)' is not a size: \(examples)")
    }
    guard let multiplier = byteSizeUnits[unit.lowercased()] else {
        throw CairnError.usage("'\(text)' is not a size: unknown unit '\(unit)'; use B, K/KB, M/MB, G/GB, T/TB, P/PB"
            + " (powers of 1000) or KiB, MiB, GiB, TiB, PiB (powers of 1024)")
    }
    let tooLarge = CairnError.usage("'\(text)' is too large: sizes go up to \(UInt64.max) bytes")
    guard let whole = parts[0].isEmpty ? 0 : UInt64(parts[0]) else { throw tooLarge }
    var (total, overflow) = whole.multipliedReportingOverflow(by: multiplier)
    // The fraction in exact integer arithmetic: digits * multiplier / 10^digits, rounded down.
    // Digits past the 18th (beyond UInt64's 10^19 range) cannot change whole bytes of a unit up to 2^60.
    if parts.count == 2, !overflow {
        let digits = parts[1].prefix(18)
        if let numerator = UInt64(digits), numerator > 0 {
            var scale: UInt64 = 1
            for _ in digits { scale *= 10 }
            let product = multiplier.multipliedFullWidth(by: numerator)
            let fraction = scale.dividingFullWidth(product).quotient  // < multiplier, as numerator < scale
            (total, overflow) = total.addingReportingOverflow(fraction)
        }
    }
    if overflow { throw tooLarge }
    return total
}

private let byteSizeUnits: [String: UInt64] = {
    var units: [String: UInt64] = ["": 1, "b": 1]
    for (power, prefix) in ["k", "m", "g", "t", "p"].enumerated() {
        var decimal: UInt64 = 1, binary: UInt64 = 1
        for _ in 0...power { decimal *= 1000; binary *= 1024 }
        units[prefix] = decimal; units[prefix + "b"] = decimal
        units[prefix + "i"] = binary; units[prefix + "ib"] = binary
    }
    return units
}()

/// 1536 -> "1.5 KiB": binary units, as `free -h` and `df -h` print them.
public func formatByteCount<N: BinaryInteger>(_ count: N) -> String {
    var value = Double(count)
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if value < 1024 || unit == "TiB" { return unit == "B" ? "\(count) B" : "\(String(format: "%.1f", value)) \(unit)" }
        value /= 1024
    }
    return "\(count) B"
}

/// A configured limit in the unit it was most likely written in: 10_000_000_000 -> "10 GB",
/// 536_870_912 -> "512 MiB"; otherwise as `formatByteCount`.
public func formatByteLimit(_ count: UInt64) -> String {
    let units: [(String, UInt64)] = [("PiB", 1 << 50), ("PB", 1_000_000_000_000_000), ("TiB", 1 << 40), ("TB", 1_000_000_000_000),
                                     ("GiB", 1 << 30), ("GB", 1_000_000_000), ("MiB", 1 << 20), ("MB", 1_000_000),
                                     ("KiB", 1 << 10), ("KB", 1000)]
    if let (unit, size) = units.first(where: { count >= $0.1 && count % $0.1 == 0 }) { return "\(count / size) \(unit)" }
    return formatByteCount(count)
}
