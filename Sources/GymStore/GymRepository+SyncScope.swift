import FluentKit
import Foundation
import GymCore

// Reads for the Kisi sync: a change-driven run loads only the members it is about, so its cost follows
// the change and not the size of the gym; a full reconcile loads everything in keyset pages
// (`id > last`, never offsets, each page of which would count and skip every row before it).

extension GymRepository {
    /// Keeps every `IN (…)` list well under the bind-parameter limits of SQLite and PostgreSQL.
    static let idBatchSize = 500

    /// The members with these IDs; deleted members are simply absent.
    public func members(ids: Set<UUID>) async throws -> [Member] {
        var members: [Member] = []
        for batch in Self.batches(of: ids) {
            members += try await MemberRow.query(on: database).filter(\.$id ~~ batch).all().map { try $0.toDomain() }
        }
        return members.sorted { $0.id < $1.id }
    }

    /// Every subscription (with its freezes) of these members.
    public func subscriptions(memberIDs: Set<UUID>) async throws -> [Subscription] {
        var subscriptions: [Subscription] = []
        for batch in Self.batches(of: memberIDs) {
            let rows = try await SubscriptionRow.query(on: database).filter(\.$member.$id ~~ batch).all()
            let ids = rows.compactMap(\.id)
            let freezes = ids.isEmpty ? [] : try await FreezeRow.query(on: database).filter(\.$subscription.$id ~~ ids).all()
            subscriptions += try Self.subscriptions(rows, freezes: freezes)
        }
        return subscriptions.sorted { $0.id < $1.id }
    }

    /// Subscriptions with their freezes matched by a dictionary. Fluent's eager loader matches each
    /// parent by scanning every child, which is quadratic: minutes for a 100,000-member gym's full sync.
    static func subscriptions(_ rows: [SubscriptionRow], freezes: [FreezeRow]) throws -> [Subscription] {
        var bySubscription: [UUID: [FreezeRow]] = [:]
        for freeze in freezes { bySubscription[freeze.$subscription.id, default: []].append(freeze) }
        return try rows.map { row in try row.toDomain(freezes: row.id.flatMap { bySubscription[$0] } ?? []) }
    }

    /// Rows per query of a whole-gym read. Keyset pages (`id > last`) cost the same at any depth, and
    /// only one page of database rows and Fluent models is alive at a time: read in one query, a
    /// 100,000-member gym held every row three times over (driver rows, models, domain values) at once,
    /// and the allocator kept that peak as resident memory for the rest of the process's life.
    public static let wholeGymPageSize = 2_000

    /// Every member, sorted by ID, in keyset pages.
    public func allMembers(pageSize: Int = wholeGymPageSize) async throws -> [Member] {
        var members: [Member] = []
        var after: UUID?
        while true {
            var query = MemberRow.query(on: database).sort(\.$id).limit(pageSize)
            if let after { query = query.filter(\.$id > after) }
            let page = try await query.all()
            for row in page { members.append(try row.toDomain()) }
            guard page.count == pageSize, let last = page.last?.id else { return members }
            after = last
        }
    }

    /// Every subscription with its freezes, sorted by ID, in keyset pages (freezes, a small table, in one query).
    public func allSubscriptions(pageSize: Int = wholeGymPageSize) async throws -> [Subscription] {
        var freezesBySubscription: [UUID: [FreezeRow]] = [:]
        for freeze in try await FreezeRow.query(on: database).all() {
            freezesBySubscription[freeze.$subscription.id, default: []].append(freeze)
        }
        var subscriptions: [Subscription] = []
        var after: UUID?
        while true {
            var query = SubscriptionRow.query(on: database).sort(\.$id).limit(pageSize)
            if let after { query = query.filter(\.$id > after) }
            let page = try await query.all()
            for row in page { subscriptions.append(try row.toDomain(freezes: row.id.flatMap { freezesBySubscription[$0] } ?? [])) }
            guard page.count == pageSize, let last = page.last?.id else { return subscriptions }
            after = last
        }
    }

    /// Every managed group ⇄ Kisi group link (a gym has a handful), and the member ⇄ Kisi user links of these
    /// members and of these Kisi users (whoever holds them, deleted members included).
    public func kisiLinks(memberIDs: Set<UUID>, userIDs: Set<Int>) async throws -> KisiLinks {
        var links = KisiLinks(groups: try await kisiGroupLinks())
        for batch in Self.batches(of: memberIDs) {
            for row in try await KisiLinkRow.query(on: database).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$localID ~~ batch).all() {
                links.users[row.localID] = row.kisiID
            }
        }
        for batch in Self.batches(of: userIDs) {
            for row in try await KisiLinkRow.query(on: database).filter(\.$kind == KisiLinkRow.memberKind).filter(\.$kisiID ~~ batch).all() {
                links.users[row.localID] = row.kisiID
            }
        }
        return links
    }

    static func batches<ID: Comparable & Hashable>(of ids: Set<ID>) -> [[ID]] {
        let sorted = ids.sorted()
        return stride(from: 0, to: sorted.count, by: idBatchSize).map { Array(sorted[$0..<min($0 + idBatchSize, sorted.count)]) }
    }
}
