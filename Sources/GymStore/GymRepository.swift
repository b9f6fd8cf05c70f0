import FluentKit
import Foundation
import GymCore

/// The gym's data, as use-case-sized operations. Each write runs in one transaction together with
/// its access-change entry, so either both are committed or neither is.
public struct GymRepository: Sendable {
    let database: any Database

    public init(database: any Database) {
        self.database = database
    }

    /// Runs `work` in one transaction; a thrown error rolls everything back.
    func write<T: Sendable>(_ work: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        do {
            return try await database.transaction(work)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // The checks before each write catch the common cases with a precise message; a unique
            // index firing means a concurrent request won the race, which is a conflict too.
            throw StoreError.conflict("the change collides with a concurrent one; reload and try again")
        }
    }

    /// Appends to the access change log inside the caller's transaction.
    static func record(
        _ subject: AccessChange.Subject, _ subjectID: UUID, _ action: AccessChange.Action,
        member: UUID? = nil, plan: UUID? = nil, on db: any Database
    ) async throws {
        let row = AccessChangeRow()
        row.recordedAt = Date()
        row.subject = subject.rawValue
        row.subjectID = subjectID
        row.action = action.rawValue
        row.memberID = member
        row.planID = plan
        try await row.create(on: db)
    }

    static func page<M: Model, T: Sendable>(
        _ query: QueryBuilder<M>, _ request: PageRequest, map: (M) throws -> T
    ) async throws -> Page<T> {
        let request = request.clamped
        let total = try await query.copy().count()
        let rows = try await query.offset(request.offset).limit(request.limit).all()
        return Page(items: try rows.map(map), total: total, limit: request.limit, offset: request.offset)
    }
}

// MARK: - Access change log

extension GymRepository {
    /// Changes recorded after `id`, oldest first.
    public func accessChanges(after id: Int = 0, limit: Int = 500) async throws -> [AccessChange] {
        try await AccessChangeRow.query(on: database)
            .filter(\.$id > id)
            .sort(\.$id)
            .limit(limit)
            .all()
            .map { try $0.toDomain() }
    }

    /// Marks changes up to and including `id` as handled by the sync.
    public func markAccessChangesProcessed(through id: Int, at instant: Date = Date()) async throws {
        try await AccessChangeRow.query(on: database)
            .filter(\.$id <= id)
            .filter(\.$processedAt == nil)
            .set(\.$processedAt, to: instant)
            .update()
    }

    public func unprocessedAccessChangeCount() async throws -> Int {
        try await AccessChangeRow.query(on: database).filter(\.$processedAt == nil).count()
    }
}

// MARK: - Access decisions

extension GymRepository {
    /// The clubs, studios and plans the access rule needs; small tables, read whole.
    public func layout() async throws -> GymLayout {
        try await Self.layout(on: database)
    }

    static func layout(on db: any Database) async throws -> GymLayout {
        let clubs = try await ClubRow.query(on: db).all().map { try $0.toDomain() }
        let studios = try await StudioRow.query(on: db).all().map { try $0.toDomain() }
        let plans = try await PlanRow.query(on: db).with(\.$clubLinks).with(\.$studioLinks).all().map { try $0.toDomain() }
        return GymLayout(clubs: clubs, studios: studios, plans: plans)
    }

    /// The access rule's decision for one member at `instant`, a staff block and booked classes included.
    public func accessDecision(memberID: UUID, at instant: Date) async throws -> AccessDecision {
        let member = try await member(memberID)
        let subscriptions = try await subscriptions(memberID: memberID)
        let classes = try await classAccess(memberID: memberID, at: instant)
        return AccessRule.decide(member: member, subscriptions: subscriptions, layout: try await layout(), classes: classes, at: instant)
    }

    /// What the access rule needs of one member's booked classes at `instant`: the plans' class rules
    /// and, when some plan opens a studio only for booked classes, the member's open and next windows.
    public func classAccess(memberID: UUID, at instant: Date) async throws -> ClassAccess {
        let input = try await classWindowInput(memberIDs: [memberID], at: instant, withOrdinals: false)
        return ClassAccess(rules: input.rules, windows: input.windows[memberID] ?? [])
    }
}
