import FluentKit
import Foundation

extension GymRepository {
    /// Kisi reported a change (a webhook event) touching what BooGYMan manages for this member, e.g. a
    /// role assignment deleted by hand in Kisi's dashboard: the change log makes the sync re-check the
    /// member, exactly as after a gym change.
    public func recordKisiEvent(memberID: UUID) async throws {
        try await Self.record(.member, memberID, .kisiEvent, member: memberID, on: database)
    }

    /// As ``recordKisiEvent(memberID:)``, for a plan's managed group (renamed, a door added or removed).
    public func recordKisiEvent(planID: UUID) async throws {
        try await Self.record(.plan, planID, .kisiEvent, plan: planID, on: database)
    }

    /// The member a Kisi object was created for, from the write journal (e.g. the member whose grant a
    /// role assignment is); nil when BooGYMan did not create it for a member.
    public func memberOfKisiObject(type: String, id: Int) async throws -> UUID? {
        try await KisiWriteRow.query(on: database)
            .filter(\.$kisiObjectType == type)
            .filter(\.$kisiObjectID == id)
            .filter(\.$memberID != nil)
            .sort(\.$id, .descending)
            .first()?.memberID
    }
}
