import CairnCore
import Foundation

/// The four-letter marks in front of steps and checks, coloured where a person reads them.
enum Marks {
    /// Colour only on a terminal, and never when NO_COLOR is set (no-color.org) or --no-color given.
    nonisolated(unsafe) static var colourAllowed = true

    static func colours(_ descriptor: Int32) -> Bool {
        colourAllowed && isatty(descriptor) == 1 && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
    }

    static func mark(_ outcome: Outcome, on descriptor: Int32 = STDOUT_FILENO) -> String {
        switch outcome {
        case .success: return paint("ok  ", green, on: descriptor)
        case .skipped: return "skip"
        case .continued, .partial: return paint(outcome == .partial ? "part" : "cont", yellow, on: descriptor)
        default: return paint("FAIL", red, on: descriptor)
        }
    }

    static func mark(_ status: CheckResult.Status, on descriptor: Int32 = STDOUT_FILENO) -> String {
        switch status {
        case .pass: return paint("ok  ", green, on: descriptor)
        case .warn: return paint("WARN", yellow, on: descriptor)
        case .fail: return paint("FAIL", red, on: descriptor)
        }
    }

    private static let green = "32", yellow = "33", red = "31"

    private static func paint(_ text: String, _ colour: String, on descriptor: Int32) -> String {
        colours(descriptor) ? "\u{1B}[\(colour)m\(text)\u{1B}[0m" : text
    }
}
