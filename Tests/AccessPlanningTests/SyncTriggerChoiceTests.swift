import Foundation
import Testing
@testable import AccessPlanning

@Suite("Day boundaries")
struct DayBoundaryTests {
    @Test("the next re-plan is just after the earliest coming club-local midnight, across zones and DST")
    func nextMidnight() throws {
        let bucharest = TimeZone(identifier: "Europe/Bucharest")!
        let newYork = TimeZone(identifier: "America/New_York")!
        // 2026-10-25 20:00 UTC: 22:00 in Bucharest (DST ended that morning, UTC+2), 16:00 in New York (UTC-4).
        let evening = instant("2026-10-25T20:00:00Z")
        let next = try #require(SyncTriggerChoice.nextDayBoundary(after: evening, zones: [newYork, bucharest]))
        #expect(next.zone == "Europe/Bucharest")
        #expect(next.instant == evening.addingTimeInterval(2 * 3_600 + 5))
        let onlyNewYork = try #require(SyncTriggerChoice.nextDayBoundary(after: evening, zones: [newYork]))
        #expect(onlyNewYork.instant == instant("2026-10-26T04:00:05Z"))
        #expect(SyncTriggerChoice.nextDayBoundary(after: evening, zones: []) == nil)
    }
}

@Suite("The sync loop's choice of what to do next")
struct SyncTriggerChoiceTests {
    static let t0 = instant("2026-02-15T21:59:00Z")
    static let midnight = DayBoundary(instant: instant("2026-02-15T22:00:05Z"), zone: "Europe/Bucharest")

    /// A quiet tick: not paused, midnight ahead, the last full reconcile a second ago, nothing reported,
    /// approved or backing off. Each case changes only what it names.
    static func quiet(_ change: (inout SyncLoopInputs) -> Void = { _ in }) -> SyncLoopInputs {
        var inputs = SyncLoopInputs(
            now: t0, sincePaused: nil, pausedRetryInterval: .seconds(30), dayBoundary: midnight,
            sinceLastFullReconcile: .seconds(1), fullReconcileInterval: .seconds(600),
            sinceLastKisiEventRun: nil, kisiEventMinimumInterval: .seconds(5))
        change(&inputs)
        return inputs
    }

    /// Everything at once, so each case can show what wins over what.
    static func everythingDue(_ change: (inout SyncLoopInputs) -> Void = { _ in }) -> SyncLoopInputs {
        quiet { inputs in
            inputs.now = midnight.instant
            inputs.sinceLastFullReconcile = .seconds(600)
            inputs.kisiChangeReport = "group_lock.destroy #44 by someone else"
            inputs.revocationApproval = [77, 78]
            inputs.approvalTried = [77]
            inputs.changeQueueRetryAt = midnight.instant.addingTimeInterval(30)
            change(&inputs)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let inputs: SyncLoopInputs
        let expected: SyncStep
        var testDescription: String { name }
    }

    @Test("each tick does the one thing its inputs call for, in order of precedence", arguments: [
        Case(name: "a quiet tick reconciles the changes", inputs: quiet(), expected: .processChanges),
        Case(name: "no clubs: no midnight to wait for", inputs: quiet { $0.dayBoundary = nil }, expected: .processChanges),
        // Paused: nothing at all until the paused retry interval has passed.
        Case(name: "paused a moment ago waits whatever else is due",
             inputs: everythingDue { $0.sincePaused = .seconds(29) }, expected: .waitWhilePaused),
        Case(name: "paused for the whole retry interval tries again",
             inputs: quiet { $0.sincePaused = .seconds(30) }, expected: .processChanges),
        // Club-local midnight.
        Case(name: "midnight reached re-plans everything", inputs: quiet { $0.now = midnight.instant },
             expected: .fullReconcile(.dayBoundary(zone: "Europe/Bucharest"))),
        Case(name: "a second before midnight is a quiet tick", inputs: quiet { $0.now = midnight.instant.addingTimeInterval(-1) },
             expected: .processChanges),
        Case(name: "midnight wins over the periodic run, a Kisi event, an approval and the backoff", inputs: everythingDue(),
             expected: .fullReconcile(.dayBoundary(zone: "Europe/Bucharest"))),
        // Periodic full reconcile.
        Case(name: "the periodic interval passed runs a full reconcile", inputs: quiet { $0.sinceLastFullReconcile = .seconds(600) },
             expected: .fullReconcile(.periodic)),
        Case(name: "just short of the periodic interval is a quiet tick",
             inputs: quiet { $0.sinceLastFullReconcile = .seconds(600) - .milliseconds(1) }, expected: .processChanges),
        Case(name: "the periodic run wins over a Kisi event, an approval and the backoff",
             inputs: everythingDue { $0.now = t0 }, expected: .fullReconcile(.periodic)),
        // Kisi events.
        Case(name: "a reported Kisi event runs a full reconcile", inputs: quiet { $0.kisiChangeReport = "user.update #901" },
             expected: .fullReconcile(.kisiEvent(report: "user.update #901"))),
        Case(name: "a Kisi event within the minimum interval of the last one waits, the approval goes first",
             inputs: everythingDue { $0.now = t0; $0.sinceLastFullReconcile = .seconds(1); $0.sinceLastKisiEventRun = .seconds(4) },
             expected: .fullReconcile(.revocationsApproved(approval: [77, 78]))),
        Case(name: "a Kisi event within the minimum interval of the last one waits behind the backoff too",
             inputs: quiet { $0.kisiChangeReport = "x"; $0.sinceLastKisiEventRun = .seconds(4); $0.changeQueueRetryAt = t0 + 1 },
             expected: .retryOwedWorkDuringBackoff),
        Case(name: "a Kisi event the minimum interval after the last one runs",
             inputs: quiet { $0.kisiChangeReport = "x"; $0.sinceLastKisiEventRun = .seconds(5) }, expected: .fullReconcile(.kisiEvent(report: "x"))),
        Case(name: "the interval passed without a report is a quiet tick", inputs: quiet { $0.sinceLastKisiEventRun = .seconds(60) },
             expected: .processChanges),
        Case(name: "a Kisi event wins over an approval and the backoff",
             inputs: everythingDue { $0.now = t0; $0.sinceLastFullReconcile = .seconds(1) },
             expected: .fullReconcile(.kisiEvent(report: "group_lock.destroy #44 by someone else"))),
        // Approved revocations.
        Case(name: "a new approval of held revocations runs a full reconcile",
             inputs: quiet { $0.revocationApproval = [77] }, expected: .fullReconcile(.revocationsApproved(approval: [77]))),
        Case(name: "an approval tried already is not tried again",
             inputs: quiet { $0.revocationApproval = [77]; $0.approvalTried = [77] }, expected: .processChanges),
        Case(name: "an approval wins over the backoff",
             inputs: quiet { $0.revocationApproval = [77, 78]; $0.approvalTried = [77]; $0.changeQueueRetryAt = t0 + 1 },
             expected: .fullReconcile(.revocationsApproved(approval: [77, 78]))),
        // The change queue's backoff.
        Case(name: "the change queue backing off leaves only the probe of owed work",
             inputs: quiet { $0.changeQueueRetryAt = t0 + 1 }, expected: .retryOwedWorkDuringBackoff),
        Case(name: "the change queue's backoff ending now reconciles the changes",
             inputs: quiet { $0.changeQueueRetryAt = t0 }, expected: .processChanges),
        Case(name: "a backoff in the past reconciles the changes",
             inputs: quiet { $0.changeQueueRetryAt = t0 - 60 }, expected: .processChanges),
    ])
    func next(_ testCase: Case) {
        #expect(SyncTriggerChoice.next(testCase.inputs) == testCase.expected)
    }

    struct FollowUpCase: Sendable, CustomTestStringConvertible {
        let outcome: SyncRunOutcome
        let hasDeferredWork: Bool
        let expected: SyncFollowUp
        var testDescription: String { "\(outcome), \(hasDeferredWork ? "work set aside" : "nothing set aside")" }
    }

    @Test("after the changes: set-aside work resumes first, owed work only when nothing new came", arguments: [
        FollowUpCase(outcome: .none, hasDeferredWork: true, expected: .resumeDeferredWork),
        FollowUpCase(outcome: .changes, hasDeferredWork: true, expected: .resumeDeferredWork),
        FollowUpCase(outcome: .none, hasDeferredWork: false, expected: .retryOwedWork),
        FollowUpCase(outcome: .changes, hasDeferredWork: false, expected: .nothing),
        FollowUpCase(outcome: .fullReconcileNeeded, hasDeferredWork: true, expected: .nothing),
        FollowUpCase(outcome: .fullReconcileNeeded, hasDeferredWork: false, expected: .nothing),
        FollowUpCase(outcome: .paused, hasDeferredWork: true, expected: .nothing),
        FollowUpCase(outcome: .paused, hasDeferredWork: false, expected: .nothing),
    ])
    func followUp(_ testCase: FollowUpCase) {
        #expect(SyncTriggerChoice.followUp(after: testCase.outcome, hasDeferredWork: testCase.hasDeferredWork) == testCase.expected)
    }

    @Test("each full reconcile names its trigger as the journal has always shown it")
    func triggers() {
        #expect(FullReconcileReason.dayBoundary(zone: "Europe/Bucharest").trigger == "midnight in Europe/Bucharest")
        #expect(FullReconcileReason.periodic.trigger == "periodic full reconcile")
        #expect(FullReconcileReason.kisiEvent(report: "user.update #901").trigger == "Kisi event: user.update #901")
        #expect(FullReconcileReason.revocationsApproved(approval: [77]).trigger == "revocations approved by staff")
    }
}
