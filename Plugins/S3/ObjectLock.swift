import CCairnPlugin
import CairnPluginSupport
import Glibc

/// Setting `object_lock: { mode: governance | compliance, retain: 30d }`: every object Cairn
/// writes through a writer or a copy (archives, latest.tar.gz, run records) carries S3 Object
/// Lock retention until now + `retain`, so nobody (compliance) or nobody without
/// s3:BypassGovernanceRetention (governance) can destroy that version before then. Conditional
/// writes (locks, shared streaks and incidents) are never locked: they must be replaced.
struct ObjectLock: Equatable {
    /// "GOVERNANCE" or "COMPLIANCE", as S3 spells them.
    var mode: String
    var retainSeconds: Int64

    /// From the setting's JSON text, e.g. {"mode":"governance","retain":"30d"}.
    static func parse(_ json: String) throws(S3Error) -> ObjectLock {
        func invalid(_ problem: String) -> S3Error {
            S3Error(CAIRN_INVALID, "setting 'object_lock' \(problem); write it as object_lock: { mode: governance, retain: 30d } "
                    + "(mode governance or compliance; retain a number of days (d), hours (h) or years (y))")
        }
        if let unknown = keys(of: json).first(where: { $0 != "mode" && $0 != "retain" }) {
            throw invalid("has an unknown key '\(unknown)'")
        }
        guard let modeText = JSONText.option("mode", in: json) else { throw invalid("needs a mode") }
        guard modeText == "governance" || modeText == "compliance" else {
            throw invalid("mode must be governance or compliance, not '\(modeText)'")
        }
        guard let retainText = JSONText.option("retain", in: json) else { throw invalid("needs retain") }
        guard let seconds = retention(retainText) else {
            throw invalid("retain must be a whole number of days, hours or years such as 30d, 36h or 1y, not '\(retainText)'")
        }
        return ObjectLock(mode: modeText.uppercased(), retainSeconds: seconds)
    }

    /// "30d", "36h", "1y" (365 days), at least an hour and at most 100 years.
    static func retention(_ text: String) -> Int64? {
        guard let unit = text.last, let number = Int64(text.dropLast()), number > 0 else { return nil }
        let seconds: Int64
        switch unit {
        case "h": seconds = number * 3600
        case "d": seconds = number * 86400
        case "y": seconds = number * 365 * 86400
        default: return nil
        }
        return seconds <= 100 * 365 * 86400 ? seconds : nil
    }

    /// The headers that lock an object written at `now` (seconds since the epoch).
    func headers(now: Int64) -> [(String, String)] {
        [("x-amz-object-lock-mode", mode), ("x-amz-object-lock-retain-until-date", S3Time.iso8601(now + retainSeconds))]
    }

    /// The keys of a flat JSON object: every string followed by ':'.
    private static func keys(of json: String) -> [String] {
        var keys: [String] = []
        var rest = json[...]
        while let open = rest.firstIndex(of: "\"") {
            let body = rest[rest.index(after: open)...]
            guard let close = body.firstIndex(of: "\"") else { break }
            let after = body[body.index(after: close)...].drop(while: { $0 == " " })
            if after.first == ":" { keys.append(String(body[..<close])) }
            rest = body[body.index(after: close)...]
        }
        return keys
    }
}

extension S3Store {
    /// When the HEAD answer's object may not be destroyed before (milliseconds since the epoch;
    /// Int64.max for a legal hold), or 0. S3 sends both only to a caller allowed
    /// s3:GetObjectRetention / s3:GetObjectLegalHold.
    static func lockedUntilMs(_ headers: [String: String]) -> Int64 {
        if headers["x-amz-object-lock-legal-hold"]?.uppercased() == "ON" { return Int64.max }
        guard headers["x-amz-object-lock-mode"] != nil, let date = headers["x-amz-object-lock-retain-until-date"] else { return 0 }
        return S3Time.iso8601Milliseconds(date)
    }

    /// The access check's view of Object Lock when the setting asks for it: the bucket must have
    /// Object Lock enabled (GetObjectLockConfiguration) and versioning on (GetBucketVersioning),
    /// else every locked write would fail (InvalidRequest) at backup time.
    func objectLockChecks(_ lock: ObjectLock) -> [(name: String, status: cairn_check_status, message: String)] {
        var results: [(String, cairn_check_status, String)] = []
        let fix = "Object Lock can only be turned on for a bucket created with it (aws s3api create-bucket "
            + "--object-lock-enabled-for-bucket) or, on AWS, afterwards with aws s3api put-object-lock-configuration "
            + "--bucket \(client.bucket) --object-lock-configuration ObjectLockEnabled=Enabled; or remove object_lock from the store's settings"
        do throws(S3Error) {
            // A bucket without it answers ObjectLockConfigurationNotFoundError (404 on AWS, 400 on moto).
            let answer = try client.send("GET", key: nil, query: [("object-lock", "")], what: "read the Object Lock configuration of",
                                         accept: [400, 404])
            if answer.status != 200 && !answer.text.contains("ObjectLockConfigurationNotFound") {
                throw S3Error(CAIRN_IO, "read the Object Lock configuration of bucket '\(client.bucket)': HTTP \(answer.status) "
                              + (XML.first("Code", in: answer.text) ?? ""))
            }
            let enabled = answer.status == 200 && XML.first("ObjectLockEnabled", in: answer.text[...]) == "Enabled"
            let days = XML.first("Days", in: answer.text[...]).map { ", bucket default \($0) days" } ?? ""
            results.append(enabled
                ? ("object_lock", CAIRN_CHECK_PASS, "bucket '\(client.bucket)' has Object Lock enabled\(days); archives are "
                   + "written locked (\(lock.mode.lowercased())) for \(lock.retainSeconds / 86400 > 0 ? "\(lock.retainSeconds / 86400) days" : "\(lock.retainSeconds / 3600) hours")")
                : ("object_lock", CAIRN_CHECK_FAIL, "bucket '\(client.bucket)' does not have Object Lock enabled, so archives "
                   + "cannot be written locked as object_lock asks. \(fix)"))
        } catch {
            results.append(("object_lock", CAIRN_CHECK_FAIL, "\(error.message) (needs s3:GetBucketObjectLockConfiguration)"))
        }
        do throws(S3Error) {
            let answer = try client.send("GET", key: nil, query: [("versioning", "")], what: "read the versioning of")
            let status = XML.first("Status", in: answer.text[...]) ?? "never enabled"
            results.append(status == "Enabled"
                ? ("versioning", CAIRN_CHECK_PASS, "bucket '\(client.bucket)' keeps versions: replacing latest.tar.gz adds a "
                   + "version and the locked old ones stay until their date")
                : ("versioning", CAIRN_CHECK_FAIL, "bucket '\(client.bucket)' versioning is \(status); Object Lock needs it "
                   + "Enabled (aws s3api put-bucket-versioning --bucket \(client.bucket) --versioning-configuration Status=Enabled)"))
        } catch {
            results.append(("versioning", CAIRN_CHECK_FAIL, "\(error.message) (needs s3:GetBucketVersioning)"))
        }
        return results
    }
}
