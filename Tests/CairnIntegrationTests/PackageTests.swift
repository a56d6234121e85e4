import CairnCore
import CairnTestSupport
import Foundation
import Testing

/// scripts/package: the tarball runs the main job (Redis backup, verification, restore drill) in a
/// mount namespace where the Swift toolchain's libraries are hidden, so only what it ships is used.
@Suite("scripts/package", .serialized)
struct PackageTests {
    @Test func theTarballRunsTheMainJobWithoutTheSwiftToolchain() throws {
        // Hiding a folder needs a private mount namespace; where that is not allowed, there is nothing to prove.
        guard (try? runShell("unshare -m true", check: false))?.status == 0 else { return }
        let temp = try TemporaryDirectory("cairn-package")
        let package = try runShell("""
            CAIRN_BIN_DIR='\(TestPaths.buildDirectory.path)' '\(TestPaths.packageRoot.path)/scripts/package' '\(temp.path("dist").path)'
            """, check: false)
        #expect(package.status == 0, "\(package.text)\(package.stderr)")
        let tarball = package.text.trimmingCharacters(in: .whitespacesAndNewlines)
        try runTool(["tar", "-xzf", tarball, "-C", temp.url.path])
        let root = temp.path(URL(fileURLWithPath: tarball).lastPathComponent.replacingOccurrences(of: ".tar.gz", with: ""))
        let cairn = root.appendingPathComponent("bin/cairn").path
        let toolchain = try runShell("ldd '\(TestPaths.cairnExecutable.path)' | awk '/libswiftCore.so/ {print $3}' | xargs dirname").text
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!toolchain.isEmpty)
        #expect(try runShell("readelf -d '\(cairn)' | grep -c 'RUNPATH.*\\$ORIGIN/swift'").text.hasPrefix("1"))
        // The plugin worker beside it finds the same runtime (the job runs plugins in it below too).
        let worker = root.appendingPathComponent("lib/cairn/cairn-plugin-worker").path
        #expect(try runShell("readelf -d '\(worker)' | grep -c 'RUNPATH.*\\$ORIGIN/swift'").text.hasPrefix("1"))

        let redis = try RedisServer(in: temp.path("redis"))
        try redis.populate()
        let digest = try redis.cli(["DEBUG", "DIGEST"])
        let work = temp.path("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let job = try runShell("""
            cd '\(work.path)' && unset CAIRN_CONFIG && export REDIS_URL=redis://127.0.0.1:\(redis.port) && \
            unshare -m sh -c "mount -t tmpfs tmpfs '\(toolchain)' && ! ls '\(toolchain)'/libswiftCore.so 2>/dev/null && \
              '\(cairn)' plugins list && '\(cairn)' backup redis && '\(cairn)' verify redis --backup latest && \
              '\(cairn)' restore redis --backup latest --drill && \
              CAIRN_PLUGIN_ISOLATION=process '\(cairn)' backup redis && \
              CAIRN_PLUGIN_ISOLATION=process '\(cairn)' restore redis --backup latest --drill"
            """, check: false)
        #expect(job.status == 0, "\(job.text)\(job.stderr)")
        #expect(!job.text.contains("broken"), "\(job.text)")
        #expect(job.text.contains(digest), "the drill's digest is not the source's \(digest): \(job.text)")
    }
}
