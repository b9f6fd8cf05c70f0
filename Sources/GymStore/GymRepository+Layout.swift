import FluentKit
import Foundation
import GymCore

// MARK: - Clubs

extension GymRepository {
    public func clubs(_ page: PageRequest = PageRequest()) async throws -> Page<Club> {
        try await Self.page(ClubRow.query(on: database).sort(\.$name).sort(\.$id), page) { try $0.toDomain() }
    }

    public func club(_ id: UUID) async throws -> Club {
        try await Self.clubRow(id, on: database).toDomain()
    }

    public func createClub(_ draft: ClubDraft) async throws -> Club {
        let club = try draft.validated(id: UUID())
        return try await write { db in
            try await Self.checkLocksAreFree(club.kisiLockIDs, exceptClub: nil, exceptStudio: nil, on: db)
            let row = ClubRow()
            row.apply(club)
            try await row.create(on: db)
            try await Self.record(.club, club.id, .created, on: db)
            return club
        }
    }

    public func updateClub(_ id: UUID, _ edit: @escaping @Sendable (inout ClubDraft) -> Void) async throws -> Club {
        try await write { db in
            let row = try await Self.clubRow(id, on: db)
            var draft = ClubDraft(name: row.name, timeZoneIdentifier: row.timeZone, kisiPlaceID: row.kisiPlaceID, kisiLockIDs: row.kisiLockIDs)
            edit(&draft)
            let club = try draft.validated(id: id)
            try await Self.checkLocksAreFree(club.kisiLockIDs, exceptClub: id, exceptStudio: nil, on: db)
            row.apply(club)
            try await row.save(on: db)
            try await Self.record(.club, id, .updated, on: db)
            return club
        }
    }

    /// Deletes a club that no studio or plan refers to any more.
    public func deleteClub(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.clubRow(id, on: db)
            if try await StudioRow.query(on: db).filter(\.$club.$id == id).count() > 0 {
                throw StoreError.conflict("the club still has studios; delete or move them first")
            }
            if try await PlanClubRow.query(on: db).filter(\.$club.$id == id).count() > 0 {
                throw StoreError.conflict("plans still open this club's doors; remove the club from them first")
            }
            try await row.delete(on: db)
            try await Self.record(.club, id, .deleted, on: db)
        }
    }

    static func clubRow(_ id: UUID, on db: any Database) async throws -> ClubRow {
        guard let row = try await ClubRow.find(id, on: db) else { throw StoreError.notFound(entity: "club", id: id) }
        return row
    }

    /// A Kisi lock is one physical door: it belongs to exactly one club entrance or studio.
    static func checkLocksAreFree(_ locks: [Int], exceptClub: UUID?, exceptStudio: UUID?, on db: any Database) async throws {
        guard !locks.isEmpty else { return }
        var errors = FieldErrors()
        let wanted = Set(locks)
        for club in try await ClubRow.query(on: db).all() where club.id != exceptClub {
            for lock in wanted.intersection(club.kisiLockIDs).sorted() {
                errors.add("kisi_lock_ids", "lock \(lock) already belongs to club \"\(club.name)\"")
            }
        }
        for studio in try await StudioRow.query(on: db).all() where studio.id != exceptStudio {
            for lock in wanted.intersection(studio.kisiLockIDs).sorted() {
                errors.add("kisi_lock_ids", "lock \(lock) already belongs to studio \"\(studio.name)\"")
            }
        }
        try errors.throwIfAny()
    }
}

// MARK: - Studios

extension GymRepository {
    public func studios(clubID: UUID? = nil, _ page: PageRequest = PageRequest()) async throws -> Page<Studio> {
        let query = StudioRow.query(on: database).sort(\.$name).sort(\.$id)
        if let clubID { query.filter(\.$club.$id == clubID) }
        return try await Self.page(query, page) { try $0.toDomain() }
    }

    public func studio(_ id: UUID) async throws -> Studio {
        try await Self.studioRow(id, on: database).toDomain()
    }

    public func createStudio(_ draft: StudioDraft) async throws -> Studio {
        let studio = try draft.validated(id: UUID())
        return try await write { db in
            guard try await ClubRow.find(studio.clubID, on: db) != nil else {
                throw FieldErrors(field: "club_id", "no club with ID \(studio.clubID)")
            }
            try await Self.checkLocksAreFree(studio.kisiLockIDs, exceptClub: nil, exceptStudio: nil, on: db)
            let row = StudioRow()
            row.apply(studio)
            try await row.create(on: db)
            try await Self.record(.studio, studio.id, .created, on: db)
            return studio
        }
    }

    public func updateStudio(_ id: UUID, _ edit: @escaping @Sendable (inout StudioDraft) -> Void) async throws -> Studio {
        try await write { db in
            let row = try await Self.studioRow(id, on: db)
            var draft = StudioDraft(clubID: row.$club.id, name: row.name, kisiLockIDs: row.kisiLockIDs)
            edit(&draft)
            let studio = try draft.validated(id: id)
            guard try await ClubRow.find(studio.clubID, on: db) != nil else {
                throw FieldErrors(field: "club_id", "no club with ID \(studio.clubID)")
            }
            try await Self.checkLocksAreFree(studio.kisiLockIDs, exceptClub: nil, exceptStudio: id, on: db)
            row.apply(studio)
            try await row.save(on: db)
            try await Self.record(.studio, id, .updated, on: db)
            return studio
        }
    }

    public func deleteStudio(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.studioRow(id, on: db)
            if try await PlanStudioRow.query(on: db).filter(\.$studio.$id == id).count() > 0 {
                throw StoreError.conflict("plans still open this studio's doors; remove the studio from them first")
            }
            try await row.delete(on: db)
            try await Self.record(.studio, id, .deleted, on: db)
        }
    }

    static func studioRow(_ id: UUID, on db: any Database) async throws -> StudioRow {
        guard let row = try await StudioRow.find(id, on: db) else { throw StoreError.notFound(entity: "studio", id: id) }
        return row
    }
}

// MARK: - Plans

extension GymRepository {
    public func plans(includeArchived: Bool = true, _ page: PageRequest = PageRequest()) async throws -> Page<Plan> {
        let query = PlanRow.query(on: database).with(\.$clubLinks).with(\.$studioLinks).sort(\.$name).sort(\.$id)
        if !includeArchived { query.filter(\.$archived == false) }
        return try await Self.page(query, page) { try $0.toDomain() }
    }

    public func plan(_ id: UUID) async throws -> Plan {
        try await Self.planRow(id, on: database).toDomain()
    }

    public func createPlan(_ draft: PlanDraft) async throws -> Plan {
        let plan = try draft.validated(id: UUID())
        return try await write { db in
            try await Self.checkPlanReferences(plan, on: db)
            let row = PlanRow()
            row.id = plan.id
            try await Self.store(plan, into: row, on: db)
            try await Self.record(.plan, plan.id, .created, plan: plan.id, on: db)
            return plan
        }
    }

    public func updatePlan(_ id: UUID, _ edit: @escaping @Sendable (inout PlanDraft) -> Void) async throws -> Plan {
        try await write { db in
            let row = try await Self.planRow(id, on: db)
            let current = try row.toDomain()
            var draft = PlanDraft(
                name: current.name, clubIDs: current.clubIDs, studioIDs: current.studioIDs,
                pastDueGraceDays: current.pastDueGraceDays, isArchived: current.isArchived)
            edit(&draft)
            let plan = try draft.validated(id: id)
            try await Self.checkPlanReferences(plan, on: db)
            try await PlanClubRow.query(on: db).filter(\.$plan.$id == id).delete()
            try await PlanStudioRow.query(on: db).filter(\.$plan.$id == id).delete()
            try await Self.store(plan, into: row, on: db)
            try await Self.record(.plan, id, .updated, plan: id, on: db)
            return plan
        }
    }

    /// Deletes a plan nobody has bought; a plan with subscriptions is archived instead.
    public func deletePlan(_ id: UUID) async throws {
        try await write { db in
            let row = try await Self.planRow(id, on: db)
            let sold = try await SubscriptionRow.query(on: db).filter(\.$plan.$id == id).count()
            if sold > 0 {
                throw StoreError.conflict("the plan has \(sold) subscription(s); archive it instead so they keep working")
            }
            try await row.delete(on: db)
            try await Self.record(.plan, id, .deleted, plan: id, on: db)
        }
    }

    static func planRow(_ id: UUID, on db: any Database) async throws -> PlanRow {
        guard let row = try await PlanRow.query(on: db).filter(\.$id == id).with(\.$clubLinks).with(\.$studioLinks).first() else {
            throw StoreError.notFound(entity: "plan", id: id)
        }
        return row
    }

    static func checkPlanReferences(_ plan: Plan, on db: any Database) async throws {
        var errors = FieldErrors()
        let clubs = Set(try await ClubRow.query(on: db).all().compactMap(\.id))
        for id in plan.clubIDs where !clubs.contains(id) { errors.add("club_ids", "no club with ID \(id)") }
        let studios = Set(try await StudioRow.query(on: db).all().compactMap(\.id))
        for id in plan.studioIDs where !studios.contains(id) { errors.add("studio_ids", "no studio with ID \(id)") }
        try errors.throwIfAny()
    }

    static func store(_ plan: Plan, into row: PlanRow, on db: any Database) async throws {
        row.name = plan.name
        row.pastDueGraceDays = plan.pastDueGraceDays
        row.archived = plan.isArchived
        try await row.save(on: db)
        for (position, clubID) in plan.clubIDs.enumerated() {
            let link = PlanClubRow()
            link.$plan.id = plan.id
            link.$club.id = clubID
            link.position = position
            try await link.create(on: db)
        }
        for (position, studioID) in plan.studioIDs.enumerated() {
            let link = PlanStudioRow()
            link.$plan.id = plan.id
            link.$studio.id = studioID
            link.position = position
            try await link.create(on: db)
        }
    }
}
