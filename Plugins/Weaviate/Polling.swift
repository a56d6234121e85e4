import CCairnPlugin
import Glibc

/// Follows one Weaviate backup or restore to its end: polls its status with growing waits under
/// the deadline, records every status change, and cancels it in Weaviate (DELETE) when the
/// deadline passes or the operator cancels. Weaviate can stay in STARTED forever (a node restart
/// mid-backup), so there is always a deadline.
struct Polling {
    let component: WeaviateComponent
    /// "/backups/filesystem/<id>" or "/backups/filesystem/<id>/restore".
    let statusPath: String
    /// "backup weaviate_20261126_190102", for messages.
    let what: String
    private(set) var timeline: [JSON] = []

    init(component: WeaviateComponent, statusPath: String, what: String) {
        self.component = component
        self.statusPath = statusPath
        self.what = what
    }

    var timelineJSON: JSON { .array(timeline) }

    private mutating func note(_ status: String) {
        if timeline.last?["status"]?.string != status {
            timeline.append(.object(["status": .string(status), "at": .string(isoNow())]))
        }
    }

    /// Polls until SUCCESS and returns the last status reply; FAILED, CANCELED, the deadline and
    /// cancellation throw.
    mutating func wait(initialStatus: String) throws(WeaviateError) -> JSON {
        let settings = component.settings
        let started = monotonicMs()
        let deadline = started + Int64(settings.deadline) * 1000
        var interval = Int64(settings.pollIntervalMs)
        var status = initialStatus
        var reply = JSON.object(["status": .string(status)])
        var unreachable = 0
        note(status)
        while true {
            switch status {
            case "SUCCESS": return reply
            case "FAILED":
                let error = reply["error"]?.string ?? ""
                throw WeaviateError(CAIRN_ERROR, "Weaviate reports \(what) FAILED: \(error.isEmpty ? "no error given (see Weaviate's log)" : error)")
            case "CANCELED":
                throw WeaviateError(CAIRN_ERROR, "\(what) was cancelled in Weaviate (status CANCELED) before it finished")
            default: break
            }
            // Sleep in short slices so Ctrl-C is honoured promptly.
            let wake = min(monotonicMs() + interval, deadline)
            while monotonicMs() < wake {
                if component.host.isCancelled {
                    let outcome = cancel()
                    throw WeaviateError(CAIRN_CANCELLED, "cancelled while \(what) was \(status); \(outcome)")
                }
                usleep(UInt32(min(50, max(1, wake - monotonicMs()))) * 1000)
            }
            if monotonicMs() >= deadline {
                let outcome = cancel()
                throw WeaviateError(CAIRN_IO, "\(what) was still \(status) after the \(settings.deadline) s deadline (setting 'deadline'); \(outcome). Weaviate can stall after a node restart: see its log before retrying")
            }
            interval = min(interval * 3 / 2 + 1, Int64(settings.pollMaxIntervalMs))
            let answer: WeaviateAPI.Reply
            do throws(WeaviateError) { answer = try component.api.send("GET", statusPath) } catch where !error.hostKnows {
                // A restarting load balancer is no reason to abandon a running backup; three in a row is.
                unreachable += 1
                if unreachable >= 3 { throw error }
                continue
            }
            unreachable = 0
            guard answer.status == 200 else { throw component.api.failure(answer, "GET", statusPath) }
            guard let json = answer.json, let next = json["status"]?.string else {
                throw WeaviateError(CAIRN_CORRUPT, "Weaviate's answer to GET /v1\(statusPath) has no status: \(WeaviateAPI.excerpt(answer.body))")
            }
            reply = json
            status = next
            note(status)
            component.host.log(CAIRN_LOG_DEBUG, "\(what): \(status)")
        }
    }

    /// Asks Weaviate to cancel; says how that went.
    func cancel() -> String {
        do throws(WeaviateError) {
            let reply = try component.api.send("DELETE", statusPath)
            if (200 ..< 300).contains(reply.status) {
                return "asked Weaviate to cancel it (DELETE /v1\(statusPath) answered \(reply.status))"
            }
            return "cancelling it failed: \(component.api.failure(reply, "DELETE", statusPath).message)"
        } catch {
            return "cancelling it failed: \(error.message)"
        }
    }
}

func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// The current time as 2026-11-26T19:01:02Z.
func isoNow() -> String {
    var t = time(nil)
    var parts = tm()
    gmtime_r(&t, &parts)
    var buffer = [CChar](repeating: 0, count: 32)
    let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
    return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
