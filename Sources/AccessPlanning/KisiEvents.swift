import Foundation
import GymCore

/// The parts of a Kisi event (as delivered by an `event_webhook` integration) the sync cares about.
public struct KisiWebhookEvent: Decodable, Sendable, Equatable {
    /// E.g. `role_assignment.destroy`, `group_lock.create`, `user.update`, `lock.unlock`.
    public var type: String
    public var actorType: String?
    public var actorID: Int?
    public var objectType: String?
    public var objectID: Int?

    public init(type: String, actorType: String? = nil, actorID: Int? = nil, objectType: String? = nil, objectID: Int? = nil) {
        self.type = type
        self.actorType = actorType
        self.actorID = actorID
        self.objectType = objectType
        self.objectID = objectID
    }

    enum CodingKeys: String, CodingKey {
        case type, actorType = "actor_type", actorID = "actor_id", objectType = "object_type", objectID = "object_id"
    }
}

/// What a Kisi event means for the sync: nothing, one member to re-check, one plan's group to re-check,
/// or — when the object cannot be traced to a member or plan — a full reconcile.
public enum KisiEventTriage: Equatable, Sendable {
    case ignore(String)
    case member(UUID)
    case plan(UUID)
    case everything(String)

    /// - Parameters:
    ///   - selfUserID: the Kisi user behind BooGYMan's API key; its own writes come back as events and
    ///     need no re-check.
    ///   - userLinks: member ID → linked Kisi user ID.
    ///   - groupLinks: managed-group key → its Kisi group ID.
    ///   - memberOfAssignment: the member a role assignment was created for, from the write journal; asked
    ///     only for role assignment events, so other events cost no lookup.
    public static func triage(
        _ event: KisiWebhookEvent, selfUserID: Int?, userLinks: [UUID: Int], groupLinks: [ManagedGroupKey: Int],
        memberOfAssignment: (Int) async throws -> UUID?
    ) async rethrows -> KisiEventTriage {
        if let selfUserID, event.actorType == "User", event.actorID == selfUserID {
            return .ignore("BooGYMan's own change")
        }
        guard let objectID = event.objectID else { return .ignore("no object") }
        switch event.objectType {
        case "User":
            if let memberID = userLinks.first(where: { $0.value == objectID })?.key { return .member(memberID) }
            return .ignore("Kisi user #\(objectID) is not linked to a member")
        case "RoleAssignment":
            if let memberID = try await memberOfAssignment(objectID) { return .member(memberID) }
            // Made by hand: it may sit in a managed group (drift) or anywhere else; only a full look tells.
            return .everything("\(event.type) #\(objectID) by someone else")
        case "Group":
            if let key = groupLinks.first(where: { $0.value == objectID })?.key {
                // A plan's group (whole or at one place) is re-checked with its plan; a studio's class
                // group has no plan to re-check by itself.
                if let planID = key.planID { return .plan(planID) }
                return .everything("\(event.type) #\(objectID) on the managed group \(key)")
            }
            return .ignore("Kisi group #\(objectID) is not managed by BooGYMan")
        case "GroupLock":
            // The event names the group lock, not its group: only a full look can tell whose doors changed.
            return .everything("\(event.type) #\(objectID) by someone else")
        default:
            return .ignore("\(event.type) does not concern door access")
        }
    }
}
