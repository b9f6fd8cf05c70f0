import Foundation
import Testing
import GymCore
@testable import AccessPlanning

@Suite("Kisi event triage")
struct KisiEventTriageTests {
    static let member = fixedID(1)
    static let plan = fixedID(2)
    static let userLinks = [member: 900]
    static let studio = fixedID(3)
    static let groupLinks: [ManagedGroupKey: Int] = [.plan(plan): 700, .planAtPlace(plan, placeID: 12): 701, .studioClasses(studio, slot: 1): 702]

    struct Case: Sendable, CustomTestStringConvertible {
        let event: KisiWebhookEvent
        let expected: KisiEventTriage
        var testDescription: String { "\(event.type) on \(event.objectType ?? "-") #\(event.objectID ?? 0)" }
    }

    @Test("each event becomes the narrowest re-check that covers it", arguments: [
        Case(event: .init(type: "role_assignment.destroy", actorType: "User", actorID: 1, objectType: "RoleAssignment", objectID: 5),
             expected: .ignore("BooGYMan's own change")),
        Case(event: .init(type: "role_assignment.destroy", actorType: "User", actorID: 60, objectType: "RoleAssignment", objectID: 5),
             expected: .member(member)),
        Case(event: .init(type: "role_assignment.create", actorType: "User", actorID: 60, objectType: "RoleAssignment", objectID: 6),
             expected: .everything("role_assignment.create #6 by someone else")),
        Case(event: .init(type: "user.update", actorType: "User", actorID: 60, objectType: "User", objectID: 900),
             expected: .member(member)),
        Case(event: .init(type: "user.update", actorType: "User", actorID: 60, objectType: "User", objectID: 901),
             expected: .ignore("Kisi user #901 is not linked to a member")),
        Case(event: .init(type: "group.update", actorType: "User", actorID: 60, objectType: "Group", objectID: 700),
             expected: .plan(plan)),
        Case(event: .init(type: "group.update", actorType: "User", actorID: 60, objectType: "Group", objectID: 701),
             expected: .plan(plan)),
        Case(event: .init(type: "group.update", actorType: "User", actorID: 60, objectType: "Group", objectID: 702),
             expected: .everything("group.update #702 on the managed group studio-classes:00000000-0000-0000-0000-000000000003:slot:1")),
        Case(event: .init(type: "group.update", actorType: "User", actorID: 60, objectType: "Group", objectID: 2002),
             expected: .ignore("Kisi group #2002 is not managed by BooGYMan")),
        Case(event: .init(type: "group_lock.destroy", actorType: "User", actorID: 60, objectType: "GroupLock", objectID: 44),
             expected: .everything("group_lock.destroy #44 by someone else")),
        Case(event: .init(type: "lock.unlock", actorType: "User", actorID: 900, objectType: "Lock", objectID: 5001),
             expected: .ignore("lock.unlock does not concern door access")),
    ])
    func triage(_ testCase: Case) async throws {
        let outcome = await KisiEventTriage.triage(testCase.event, selfUserID: 1, userLinks: Self.userLinks, groupLinks: Self.groupLinks) { assignmentID in
            assignmentID == 5 ? Self.member : nil
        }
        #expect(outcome == testCase.expected)
    }
}
