import Foundation
import GymCore
import SQLKit
import Testing
import GymStore

@Suite("Managed-group links by key (migration 017)")
struct GroupKeyLinkStoreTests {
    @Test("a plan's groups at several places, a studio's class groups and a whole plan's group are linked side by side", arguments: DatabaseKind.available)
    func linksByKey(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (plan, studio) = (UUID(), UUID())
            try await repository.setKisiGroupLink(key: .planAtPlace(plan, placeID: 12), groupID: 200)
            try await repository.setKisiGroupLink(key: .planAtPlace(plan, placeID: 13), groupID: 201)
            try await repository.setKisiGroupLink(key: .studioClasses(studio, slot: 1), groupID: 202)
            try await repository.setKisiGroupLink(planID: plan, groupID: 203)
            let links = try await repository.kisiLinks()
            #expect(links.groups == [
                .planAtPlace(plan, placeID: 12): 200, .planAtPlace(plan, placeID: 13): 201, .studioClasses(studio, slot: 1): 202, .plan(plan): 203,
            ])
            #expect(links.groups(ofPlan: plan).count == 3)
            #expect(try await repository.kisiLinks(memberIDs: [], userIDs: []).groups == links.groups)

            // One Kisi group stands for one key only.
            await #expect(throws: StoreError.self) { try await repository.setKisiGroupLink(key: .planAtPlace(plan, placeID: 14), groupID: 200) }
            try await repository.setKisiGroupLink(key: .planAtPlace(plan, placeID: 12), groupID: nil)
            try await repository.setKisiGroupLink(key: .planAtPlace(plan, placeID: 14), groupID: 200)
            #expect(try await repository.kisiLinks().groups[.planAtPlace(plan, placeID: 14)] == 200)
            #expect(try await repository.kisiLinks().groups[.planAtPlace(plan, placeID: 12)] == nil)
        }
    }

    @Test("an installation's plan ⇄ group links survive migration 017 and read back as whole plans' keys", arguments: DatabaseKind.available)
    func existingLinksMigrate(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Links", email: "ana@keys.example")).id
            let (gold, silver, old) = (UUID(), UUID(), UUID())
            try await repository.setKisiGroupLink(planID: gold, groupID: 300)
            try await repository.setKisiGroupLink(planID: silver, groupID: 301)
            try await repository.setKisiGroupLink(key: .planAtPlace(silver, placeID: 9), groupID: 302)
            try await repository.setKisiUserLink(memberID: member, userID: 300)

            try await database.revertGroupKeyLinks()
            #expect(!(try await database.appliedMigrations()).contains("017_key_group_links"))
            let sql = try #require(database.database as? any SQLDatabase)
            // As an older release writes a link: one more, straight into the old table.
            try await sql.insert(into: "kisi_links").columns("id", "kind", "local_id", "kisi_id", "created_at", "updated_at")
                .values(SQLBind(UUID()), SQLBind("plan"), SQLBind(old), SQLBind(304), SQLBind(Date()), SQLBind(Date())).run()
            struct Count: Decodable { let n: Int }
            #expect(try await sql.raw("SELECT COUNT(*) AS n FROM kisi_links WHERE kind = 'plan'").first(decoding: Count.self)?.n == 3)

            try await database.migrate()
            #expect(try await database.appliedMigrations().contains("017_key_group_links"))
            // The place group could not live in the old table; its marker lets the sync find it again.
            #expect(try await repository.kisiLinks() == KisiLinks(groups: [.plan(gold): 300, .plan(silver): 301, .plan(old): 304], users: [member: 300]))
            #expect(try await sql.raw("SELECT COUNT(*) AS n FROM kisi_links").first(decoding: Count.self)?.n == 1)
            try await repository.setKisiGroupLink(key: .planAtPlace(silver, placeID: 9), groupID: 302)
            #expect(try await repository.kisiLinks().groups(ofPlan: silver) == [.plan(silver): 301, .planAtPlace(silver, placeID: 9): 302])
        }
    }
}
