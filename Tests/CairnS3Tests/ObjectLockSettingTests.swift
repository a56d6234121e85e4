import Foundation
import Testing
@testable import CairnS3

/// The `object_lock` setting and the Object Lock headers, from inside the plugin's module: the
/// retention date S3 gets is now + retain in UTC, and a HEAD's lock headers become the date
/// `stat` reports (GNU date judges the date format).
@Suite("S3 Object Lock setting")
struct ObjectLockSettingTests {
    @Test func theSettingGivesTheModeAndARetentionDateInUTC() throws {
        let lock = try ObjectLock.parse(#"{"mode":"compliance","retain":"30d"}"#)
        #expect(lock == ObjectLock(mode: "COMPLIANCE", retainSeconds: 30 * 86400))
        let headers = Dictionary(lock.headers(now: 1_796_000_000), uniquingKeysWith: { a, _ in a })
        #expect(headers["x-amz-object-lock-mode"] == "COMPLIANCE")
        let until = try #require(headers["x-amz-object-lock-retain-until-date"])
        let judged = try Process.output(["date", "-u", "-d", until, "+%s"])
        #expect(judged == String(1_796_000_000 + 30 * 86400), "\(until)")
        #expect(try ObjectLock.parse(#"{"retain": "36h", "mode": "governance"}"#).retainSeconds == 36 * 3600)
        #expect(try ObjectLock.parse(#"{"mode":"governance","retain":"1y"}"#).retainSeconds == 365 * 86400)
        for bad in ["0d", "30", "d", "-1d", "30m", "101y"] { #expect(ObjectLock.retention(bad) == nil, "\(bad)") }
    }

    @Test func aHeadAnswersLockBecomesTheLockedUntilDate() {
        let until = "2026-12-08T20:59:37Z"
        #expect(S3Store.lockedUntilMs(["x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": until])
                == S3Time.iso8601Milliseconds(until))
        #expect(S3Time.iso8601(S3Time.iso8601Milliseconds(until) / 1000) == until)
        #expect(S3Store.lockedUntilMs(["x-amz-object-lock-legal-hold": "ON"]) == Int64.max)
        #expect(S3Store.lockedUntilMs(["content-length": "12"]) == 0)
    }
}

private extension Process {
    static func output(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
