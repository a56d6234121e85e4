import CairnArchive
import CairnConfig
import CairnCore
import CairnHooks
import CairnInterfaces
import CairnOperations
import CairnState
import Foundation

/// Cancels a step when its timeout passes.
final class DeadlineTimer: @unchecked Sendable {
    // @unchecked: `fired` is written once by the timer and read after `stop()`.
    private let timer: DispatchSourceTimer?
    private(set) var fired = false

    init(seconds: Double?, cancellation: Cancellation) {
        guard let seconds else { timer = nil; return }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        self.timer = timer
        timer.schedule(deadline: .now() + seconds)
        timer.setEventHandler { [weak self] in
            self?.fired = true
            cancellation.cancel()
        }
        timer.resume()
    }

    func stop() { timer?.cancel() }
}
