import CairnHost

extension EscalationService {
    /// Runs a checking command's work and tells escalation what it found: a thrown error is
    /// reported as a failure and rethrown, a result as `findings(result)` (which opens incidents
    /// for problems and resolves them on a clean result, docs/escalation.md).
    func checked<Result>(origin: String, _ work: () throws -> Result,
                         findings: (Result) -> [ConditionObservation]) throws -> Result {
        let result: Result
        do { result = try work() } catch {
            report(failure: error, origin: origin)
            throw error
        }
        report(findings(result), source: ObservationSource(runID: nil, logFile: nil, origin: origin))
        return result
    }
}
