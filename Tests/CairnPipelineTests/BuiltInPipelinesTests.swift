import CairnConfig
import CairnCore
@testable import CairnPipeline
import CairnTestSupport
import Foundation
import Testing

/// The built-in pipelines load and pass the load-time checks against a configuration, and the
/// commands' own runs are classified right (those that change nothing may run without history).
@Suite("Built-in pipelines")
struct BuiltInPipelinesTests {
    @Test func everyBuiltInPipelineResolvesAgainstAConfiguration() throws {
        let resources = try MemoryResources(components: ["app": ScriptedComponent()])
        let catalog = try PipelineCatalog(config: resources.config)
        #expect(catalog.names == ["backup", "check-storage", "checks", "emergency", "integrity", "prune", "validate"])
        for name in catalog.names {
            let pipeline = try catalog.resolve(name, parameters: ["component": "app"], resources: resources)
            #expect(!pipeline.steps.isEmpty, "\(name)")
        }
    }

    @Test func onlyPipelinesThatChangeNothingMayRunWithoutHistory() throws {
        let catalog = try PipelineCatalog(config: try MemoryResources(components: ["app": ScriptedComponent()]).config)
        let readOnly = catalog.names.filter { catalog.pipelines[$0]!.changesNothing }
        #expect(readOnly == ["check-storage", "checks", "integrity", "validate"])
        #expect(!StepAction.prune(components: [], dryRun: true).changesNothing)  // it reads which backups were verified
        #expect(!StepAction.verify(component: "app", backup: "new").changesNothing)
        #expect(StepAction.verify(component: "app", backup: "latest").changesNothing)
    }

    @Test func aCommandsRunIsCheckedLikeAnyPipeline() throws {
        let resources = try MemoryResources(components: ["app": ScriptedComponent()])
        let catalog = try PipelineCatalog(config: resources.config)
        let unknown = #expect(throws: CairnError.self) {
            try catalog.check(BuiltInPipelines.command("validate", .validate(components: ["nope"], allEnvironments: false),
                                                       description: "test"), resources: resources)
        }
        #expect(unknown?.kind == .usage)
        #expect(unknown?.message.contains("unknown component 'nope'") == true, "\(unknown?.message ?? "")")
    }
}
