import Foundation
import GymCore
import GymStore

/// The durable ``SyncLedger``: GymStore's Kisi sync tables (links, write journal, held reviews, sync state).
///
/// Reviews: GymStore keys an open review by `kind` + member + Kisi user; the planner keys it by
/// ``ReviewKey`` (kind + subject). The GymStore `kind` is therefore written as
/// `<review kind>:<subject>` (plus `@plan:<UUID>` when the review concerns a plan), and `detail` is the
/// planner's message. Open reviews of other kinds (not written by the sync) are not listed here.
///
/// With a `fence` (the lease of the replica leading the sync), every journalled write and every
/// sync-state change is checked against the lease in the same transaction: a replica that lost the
/// lease gets ``FencingError`` before anything reaches Kisi, and cannot move the change-log cursor.
public struct GymStoreSyncLedger: SyncLedger {
    public let repository: GymRepository
    public let fence: LeaseFence?

    public init(repository: GymRepository, fence: LeaseFence? = nil) {
        self.repository = repository
        self.fence = fence
    }

    public func links() async throws -> KisiLinks {
        try await repository.kisiLinks()
    }

    public func links(memberIDs: Set<UUID>, userIDs: Set<Int>) async throws -> KisiLinks {
        try await repository.kisiLinks(memberIDs: memberIDs, userIDs: userIDs)
    }

    public func setGroupLink(key: ManagedGroupKey, groupID: Int?) async throws {
        try await repository.setKisiGroupLink(key: key, groupID: groupID)
    }

    public func setUserLink(memberID: UUID, userID: Int?) async throws {
        try await repository.setKisiUserLink(memberID: memberID, userID: userID)
    }

    public func beginWrite(_ intent: SyncWriteIntent) async throws -> Int {
        try await repository.beginKisiWrite(
            action: intent.action, kisiObjectType: intent.kisiObjectType, kisiObjectID: intent.kisiObjectID,
            memberID: intent.memberID, planID: intent.planID, trigger: intent.trigger, actor: intent.actor,
            reason: intent.reason, requestJSON: intent.requestJSON, fence: fence)
    }

    public func finishWrite(id: Int, _ outcome: SyncWriteOutcome) async throws {
        try await repository.finishKisiWrite(
            id: id, status: outcome.status, kisiObjectType: outcome.kisiObjectType, kisiObjectID: outcome.kisiObjectID,
            kisiStatus: outcome.kisiStatus, kisiCode: outcome.kisiCode, error: outcome.error)
    }

    public func unfinishedWrites() async throws -> [KisiWrite] {
        try await repository.unfinishedKisiWrites()
    }

    public func openReviews() async throws -> [HeldReview] {
        try await repository.openHeldReviews().compactMap { stored in
            guard let (key, planID) = Self.parse(kind: stored.kind) else { return nil }
            return HeldReview(key: key, message: stored.detail, memberID: stored.memberID, planID: planID)
        }
    }

    public func holdForReview(_ review: HeldReview, kisiUserID: Int?) async throws {
        _ = try await repository.holdForReview(
            kind: Self.kind(review.key, planID: review.planID), memberID: review.memberID, kisiUserID: kisiUserID,
            detail: review.message)
    }

    public func resolveReview(_ key: ReviewKey, resolution: String) async throws {
        for stored in try await repository.openHeldReviews() where Self.parse(kind: stored.kind)?.key == key {
            try await repository.resolveHeldReview(id: stored.id, resolution: resolution)
        }
    }

    public func syncState(_ key: String) async throws -> String? {
        try await repository.syncState(key)
    }

    public func setSyncState(_ key: String, _ value: String?) async throws {
        try await repository.setSyncState(key, value, fence: fence)
    }

    static let planSeparator = "@plan:"

    static func kind(_ key: ReviewKey, planID: UUID?) -> String {
        "\(key.kind.rawValue):\(key.subject)" + (planID.map { planSeparator + $0.uuidString } ?? "")
    }

    /// The planner's key (and plan) of a stored review's `kind`; nil for reviews the sync did not write.
    public static func parse(kind text: String) -> (key: ReviewKey, planID: UUID?)? {
        var body = Substring(text)
        var planID: UUID?
        if let range = body.range(of: planSeparator) {
            planID = UUID(uuidString: String(body[range.upperBound...]))
            body = body[..<range.lowerBound]
        }
        guard let colon = body.firstIndex(of: ":"), let kind = ReviewKind(rawValue: String(body[..<colon])) else { return nil }
        return (ReviewKey(kind: kind, subject: String(body[body.index(after: colon)...])), planID)
    }
}
