import Foundation
import GymCore
import GymStore
import SQLKit
import Testing

@Suite("Repository: paging big lists by cursor")
struct ListPagingStoreTests {
    /// Follows `nextCursor` from the first page to the last.
    func walk<T>(limit: Int, _ page: (PageRequest) async throws -> Page<T>) async throws -> (items: [T], pages: Int, totals: Set<Int>) {
        var items: [T] = []
        var request = PageRequest(limit: limit)
        var pages = 0
        var totals: Set<Int> = []
        while true {
            let current = try await page(request)
            items += current.items
            pages += 1
            totals.insert(current.total)
            guard let next = current.nextCursor else { break }
            #expect(current.items.count == limit, "only a full page may promise another")
            request = PageRequest(limit: limit, cursor: next)
            if pages > 100 { Issue.record("the cursor does not advance"); break }
        }
        return (items, pages, totals)
    }

    @Test("Cursor pages list every member once, in the offset pages' name order, ties broken by ID, also when searching", arguments: DatabaseKind.available)
    func memberCursors(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            // Many members share a name, so the order within a name rests on the ID alone.
            for n in 0..<23 {
                let (first, last) = [("Ana", "Popescu"), ("Ion", "Popescu"), ("Ana", "Ionescu")][n % 3]
                _ = try await repository.createMember(MemberDraft(firstName: first, lastName: last, email: "m\(n)@gym.example"))
            }
            let everyone = try await repository.members(search: nil, PageRequest(limit: 500))
            #expect(everyone.nextCursor == nil)
            let walked = try await walk(limit: 5) { try await repository.members(search: nil, $0) }
            #expect(walked.items.map(\.id) == everyone.items.map(\.id))
            #expect(walked.pages == 5 && walked.totals == [23])

            var offsetPages: [Member] = []
            for page in 0..<5 { offsetPages += try await repository.members(search: nil, PageRequest(limit: 5, offset: page * 5)).items }
            #expect(offsetPages.map(\.id) == walked.items.map(\.id))

            let popescus = try await walk(limit: 4) { try await repository.members(search: "popescu", $0) }
            #expect(popescus.items.count == 16 && popescus.totals == [16])
            #expect(popescus.items.allSatisfy { $0.lastName == "Popescu" })
            #expect(popescus.items.map(\.id) == everyone.items.filter { $0.lastName == "Popescu" }.map(\.id))
        }
    }

    @Test("Cursor pages list subscriptions by start date, oldest or newest first, of everyone, a member or a plan", arguments: DatabaseKind.available)
    func subscriptionCursors(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest"))
            let gold = try await repository.createPlan(PlanDraft(name: "Gold", clubIDs: [club.id]))
            let silver = try await repository.createPlan(PlanDraft(name: "Silver", clubIDs: [club.id]))
            var memberIDs: [UUID] = []
            for n in 0..<4 {
                memberIDs.append(try await repository.createMember(MemberDraft(firstName: "M", lastName: "\(n)", email: "s\(n)@gym.example")).id)
            }
            // Start dates repeat across members, so the ID decides among equal dates.
            for n in 0..<14 {
                let start = try #require(LocalDate("2026-0\(1 + n % 4)-01"))
                _ = try await repository.createSubscription(SubscriptionDraft(
                    memberID: memberIDs[n % 4], planID: n % 2 == 0 ? gold.id : silver.id, startDate: start,
                    endDate: start.adding(days: 27), paidThrough: start.adding(days: 27)))
            }
            let all = try await repository.subscriptions(memberID: nil, planID: nil, PageRequest(limit: 500))
            #expect(all.items.map(\.startDate) == all.items.map(\.startDate).sorted())
            let walked = try await walk(limit: 3) { try await repository.subscriptions(memberID: nil, planID: nil, $0) }
            #expect(walked.items.map(\.id) == all.items.map(\.id) && walked.totals == [14])

            let newest = try await walk(limit: 4) { try await repository.subscriptions(memberID: nil, planID: nil, $0, newestFirst: true) }
            #expect(newest.items.map(\.id) == all.items.map(\.id).reversed())

            let golds = try await walk(limit: 2) { try await repository.subscriptions(memberID: nil, planID: gold.id, $0) }
            #expect(golds.items.map(\.id) == all.items.filter { $0.planID == gold.id }.map(\.id) && golds.totals == [7])
            let firstMembers = try await walk(limit: 2) { try await repository.subscriptions(memberID: memberIDs[0], planID: nil, $0) }
            #expect(firstMembers.items.map(\.id) == all.items.filter { $0.memberID == memberIDs[0] }.map(\.id))

            // The batch read for a page of members equals one read per member; a member without any is empty.
            let lonely = try await repository.createMember(MemberDraft(firstName: "No", lastName: "Plan", email: "none@gym.example"))
            let batch = try await repository.subscriptions(memberIDs: memberIDs + [lonely.id])
            for id in memberIDs { #expect(batch[id]?.map(\.id) == (try await repository.subscriptions(memberID: id)).map(\.id)) }
            #expect(batch[lonely.id] == [])
            let named = try await repository.members(ids: memberIDs + [UUID()])
            #expect(Set(named.keys) == Set(memberIDs))
        }
    }

    @Test("Cursor pages of the audit log run newest first through every filter", arguments: DatabaseKind.available)
    func auditCursors(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (ana, ion) = (UUID(), UUID())
            var ids: [Int] = []
            for n in 0..<17 {
                ids.append(try await repository.beginKisiWrite(action: n % 3 == 0 ? "deleteGrant" : "createGrant", memberID: n % 2 == 0 ? ana : ion, reason: "n\(n)"))
            }
            let walked = try await walk(limit: 5) { try await repository.auditEntries(KisiWriteFilter(), $0) }
            #expect(walked.items.map(\.id) == ids.reversed() && walked.totals == [17])
            let filter = KisiWriteFilter(memberID: ana, action: "createGrant")
            let filtered = try await walk(limit: 2) { try await repository.auditEntries(filter, $0) }
            #expect(filtered.items.map(\.id) == (try await repository.kisiWrites(filter, PageRequest(limit: 500))).items.map(\.id))
            #expect(filtered.items.count == 6)
            // A cursor and an offset together: the offset counts from the cursor.
            let second = try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 5))
            let skipped = try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 2, offset: 3, cursor: second.nextCursor))
            #expect(skipped.items.map(\.id) == Array(ids.reversed()[8..<10]))
        }
    }

    @Test("Deep offsets, which skip by ID before reading rows, answer the same rows as walking the list", arguments: DatabaseKind.available)
    func deepOffsets(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            var ids: [Int] = []
            for n in 0..<560 {
                ids.append(try await repository.beginKisiWrite(action: n % 2 == 0 ? "createGrant" : "deleteGrant", reason: "n\(n)"))
            }
            let newestFirst = Array(ids.reversed())
            let deep = try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 7, offset: 530))
            #expect(deep.items.map(\.id) == Array(newestFirst[530..<537]) && deep.total == 560 && deep.offset == 530)
            let next = try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 7, cursor: try #require(deep.nextCursor)))
            #expect(next.items.map(\.id) == Array(newestFirst[537..<544]))
            let tail = try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 10, offset: 555))
            #expect(tail.items.map(\.id) == Array(newestFirst[555...]) && tail.nextCursor == nil)
            #expect(try await repository.auditEntries(KisiWriteFilter(), PageRequest(limit: 10, offset: 600)).items.isEmpty)
            let deletes = try await repository.auditEntries(KisiWriteFilter(action: "deleteGrant"), PageRequest(limit: 5, offset: 270))
            let deleteIDs = Array(ids.enumerated().filter { $0.offset % 2 == 1 }.map(\.element).reversed())
            #expect(deletes.items.map(\.id) == Array(deleteIDs[270..<275]))
            #expect(deletes.items.allSatisfy { $0.action == "deleteGrant" })
        }
    }

    @Test("A cursor that is not one of the list's own is refused, and tokens survive their text form", arguments: DatabaseKind.available)
    func foreignCursors(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            for n in 0..<3 { _ = try await repository.createMember(MemberDraft(firstName: "A", lastName: "B", email: "c\(n)@gym.example")) }
            let membersCursor = try #require(try await repository.members(search: nil, PageRequest(limit: 1)).nextCursor)
            #expect(PageCursor(token: membersCursor.token) == membersCursor)
            await #expect(throws: PageCursor.Mismatch.self) { try await repository.auditEntries(KisiWriteFilter(), PageRequest(cursor: membersCursor)) }
            await #expect(throws: PageCursor.Mismatch.self) {
                try await repository.subscriptions(memberID: nil, planID: nil, PageRequest(cursor: membersCursor))
            }
            let forged = [PageCursor(values: ["B", "A", "not a UUID"]), PageCursor(values: ["-4"]), PageCursor(values: ["2026-13-45", UUID().uuidString])]
            await #expect(throws: PageCursor.Mismatch.self) { try await repository.members(search: nil, PageRequest(cursor: forged[0])) }
            await #expect(throws: PageCursor.Mismatch.self) { try await repository.auditEntries(KisiWriteFilter(), PageRequest(cursor: forged[1])) }
            await #expect(throws: PageCursor.Mismatch.self) { try await repository.subscriptions(memberID: nil, planID: nil, PageRequest(cursor: forged[2])) }
            for text in ["", "!!", "bm90IGpzb24", String(repeating: "A", count: 2_000), "W10"] {  // "W10" is "[]"
                #expect(PageCursor(token: text) == nil, "\(text.prefix(20))")
            }
        }
    }

    @Test("Migration 015 applies to a database that already holds members, subscriptions and journal entries", arguments: DatabaseKind.available)
    func listIndexesOnExistingData(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let club = try await repository.createClub(ClubDraft(name: "Old Town", timeZoneIdentifier: "Europe/Bucharest"))
            let plan = try await repository.createPlan(PlanDraft(name: "Gold", clubIDs: [club.id]))
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@gym.example"))
            let start = try #require(LocalDate("2026-01-01"))
            _ = try await repository.createSubscription(SubscriptionDraft(memberID: member.id, planID: plan.id, startDate: start, endDate: nil, paidThrough: start))
            _ = try await repository.beginKisiWrite(action: "createGrant", memberID: member.id, reason: "sold")

            try await database.revertListIndexes()
            #expect(try await indexNames(database).isDisjoint(with: ["members_name_order_index", "kisi_writes_action_order_index"]))
            #expect(!(try await database.appliedMigrations()).contains("015_add_list_indexes"))
            try await database.migrate()
            let names = try await indexNames(database)
            #expect(names.isSuperset(of: ["members_name_order_index", "subscriptions_member_order_index", "subscription_freezes_subscription_index",
                                          "kisi_writes_member_order_index", "kisi_writes_action_order_index", "access_changes_unprocessed_index"]))
            #expect(names.isDisjoint(with: ["kisi_writes_member_id_index", "kisi_writes_status_index"]))
            #expect(try await repository.members(search: "popes").items.map(\.id) == [member.id])
            #expect(try await repository.auditEntries(KisiWriteFilter(memberID: member.id)).total == 1)
        }
    }

    func indexNames(_ database: GymDatabase) async throws -> Set<String> {
        struct Row: Decodable { let name: String }
        let sql = database.database as! any SQLDatabase
        let query: SQLQueryString = sql.dialect.name == "postgresql"
            ? "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema()"
            : "SELECT name FROM sqlite_master WHERE type = 'index'"
        return Set(try await sql.raw(query).all(decoding: Row.self).map(\.name))
    }
}
