import CairnHost
import Foundation
import Logging

/// Log lines go to stderr, timestamped, so stdout stays clean for results and --json.
enum LoggingSetup {
    nonisolated(unsafe) private static var done = false

    static func bootstrap(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Ctrl-C / SIGTERM ask the running plugin to stop; a second Ctrl-C exits at once.
enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func cancelOnInterrupt(_ cancellation: CairnHost.Cancellation) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                if cancellation.isCancelled { Foundation.exit(130) }
                FileHandle.standardError.write(Data("cairn: stopping after the current chunk (press Ctrl-C again to quit now)\n".utf8))
                cancellation.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }
}
