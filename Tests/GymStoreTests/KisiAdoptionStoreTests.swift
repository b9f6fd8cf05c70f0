import Foundation
import GymCore
import GymStore
import Testing

@Suite("Kisi user adoption storage")
struct KisiAdoptionStoreTests {
    func member(_ repository: GymRepository, _ first: String) async throws -> UUID {
        try await repository.createMember(MemberDraft(firstName: first, lastName: "Test", email: "\(first.lowercased())@example.com")).id
    }

    func lastChangeID(_ repository: GymRepository) async throws -> Int {
        var last = 0
        while let newest = try await repository.accessChanges(after: last).last?.id { last = newest }
        return last
    }

    @Test("A staff decision moves links in one transaction, journals each change and queues the members; a conflict changes nothing",
          arguments: DatabaseKind.available)
    func decisionsAreAtomic(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let (ana, bob, cleo) = (try await member(repository, "Ana"), try await member(repository, "Bob"), try await member(repository, "Cleo"))
            try await repository.setKisiUserLink(memberID: ana, userID: 10)
            try await repository.setKisiUserLink(memberID: cleo, userID: 20)
            let before = try await lastChangeID(repository)

            try await repository.decideKisiUserLinks([
                KisiUserLinkChange(memberID: ana, userID: nil, reason: "user 10 is Bob's"),
                KisiUserLinkChange(memberID: bob, userID: 10, reason: "user 10 is Bob's"),
            ], actor: "staff:owner@gym.example", trigger: "adoption review")
            #expect(try await repository.kisiLinks().users == [bob: 10, cleo: 20])
            let journal = try await repository.kisiWrites(KisiWriteFilter()).items
            #expect(journal.map(\.action) == [GymRepository.staffLinkUserAction, GymRepository.staffUnlinkUserAction])
            #expect(journal.map(\.memberID) == [bob, ana])
            #expect(journal.map(\.kisiObjectID) == [10, 10], "an unlink names the user it was linked to")
            #expect(journal.allSatisfy { $0.status == .succeeded && $0.finishedAt != nil && $0.actor == "staff:owner@gym.example" })
            #expect(try await repository.unfinishedKisiWrites().isEmpty, "local decisions are never left for the sync to check")
            let changes = try await repository.accessChanges(after: before)
            #expect(Set(changes.compactMap(\.memberID)) == [ana, bob])

            // Cleo's user cannot be Ana's while Cleo holds it: nothing of the decision stays.
            let writes = try await repository.kisiWrites(KisiWriteFilter()).total
            let last = try await lastChangeID(repository)
            await #expect(throws: StoreError.self) {
                try await repository.decideKisiUserLinks([
                    KisiUserLinkChange(memberID: bob, userID: nil, reason: "x"),
                    KisiUserLinkChange(memberID: ana, userID: 20, reason: "x"),
                ], actor: "staff:owner@gym.example", trigger: "adoption review")
            }
            #expect(try await repository.kisiLinks().users == [bob: 10, cleo: 20])
            #expect(try await repository.kisiWrites(KisiWriteFilter()).total == writes)
            #expect(try await lastChangeID(repository) == last)
        }
    }

    @Test("A link counts as adopted unless the journal shows BooGYMan created or invited that very user for that member",
          arguments: DatabaseKind.available)
    func adoptedVersusCreated(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            var ids: [String: UUID] = [:]
            for name in ["Ana", "Bob", "Cleo", "Dan", "Eve", "Finn"] { ids[name] = try await member(repository, name) }
            func link(_ name: String, _ userID: Int) async throws { try await repository.setKisiUserLink(memberID: ids[name]!, userID: userID) }
            func journal(_ name: String, _ action: String, user: Int, _ status: KisiWriteStatus) async throws {
                let id = try await repository.beginKisiWrite(action: action, kisiObjectType: "user", memberID: ids[name]!, reason: "test")
                try await repository.finishKisiWrite(id: id, status: status, kisiObjectID: user)
            }
            try await link("Ana", 1); try await journal("Ana", "createUser", user: 1, .succeeded)
            try await link("Bob", 2); try await journal("Bob", "inviteUser", user: 2, .succeeded)
            try await link("Cleo", 3)                                                   // adopted by e-mail
            try await link("Dan", 4); try await journal("Dan", "createUser", user: 4, .failed)
            try await link("Eve", 5); try await journal("Eve", "createUser", user: 99, .succeeded)  // another user, since replaced
            try await link("Finn", 6); try await journal("Finn", "createUser", user: 6, .succeeded)
            try await repository.deleteMember(ids["Finn"]!)                           // the link stays; Finn no longer counts

            let counts = try await repository.kisiUserLinkCounts()
            #expect(counts.linked == 5)
            #expect(counts.adopted == 3)
            let page = try await repository.adoptedKisiUsers(PageRequest(limit: 2))
            #expect(page.total == 3)
            #expect(page.items.map(\.memberName) == ["Cleo Test", "Dan Test"])
            #expect(page.items.map(\.kisiUserID) == [3, 4])
            #expect(page.items.first?.memberID == ids["Cleo"])
            #expect(page.items.first?.email == "cleo@example.com")
            #expect(try await repository.adoptedKisiUsers(PageRequest(limit: 2, offset: 2)).items.map(\.memberName) == ["Eve Test"])
        }
    }
}

@Suite("Kisi users BooGYMan created")
struct KisiCreatedUsersStoreTests {
    @Test("The created list holds the links the journal shows created or invited, by name, paged to the end", arguments: DatabaseKind.available)
    func createdUsersPage(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            var ids: [String: UUID] = [:]
            for name in ["Ana", "Bob", "Cleo", "Dan", "Eve"] {
                ids[name] = try await repository.createMember(
                    MemberDraft(firstName: name, lastName: "Test", email: "\(name.lowercased())@example.com")).id
            }
            func created(_ name: String, _ action: String, user: Int, _ status: KisiWriteStatus = .succeeded) async throws {
                try await repository.setKisiUserLink(memberID: ids[name]!, userID: user)
                let id = try await repository.beginKisiWrite(action: action, kisiObjectType: "user", memberID: ids[name]!, reason: "test")
                try await repository.finishKisiWrite(id: id, status: status, kisiObjectID: user)
            }
            try await created("Ana", "createUser", user: 1)
            try await created("Bob", "inviteUser", user: 2)
            try await repository.setKisiUserLink(memberID: ids["Cleo"]!, userID: 3)  // adopted by e-mail
            try await created("Dan", "createUser", user: 4, .failed)  // the creation failed: adopted later
            try await created("Eve", "createUser", user: 5)

            let first = try await repository.createdKisiUsers(PageRequest(limit: 2))
            #expect(first.total == 3)
            #expect(first.items.map(\.memberName) == ["Ana Test", "Bob Test"])
            let second = try await repository.createdKisiUsers(PageRequest(limit: 2, offset: 2))
            #expect(second.items.map(\.kisiUserID) == [5])
            let adopted = try await repository.adoptedKisiUsers(PageRequest(limit: 10)).items.map(\.memberName)
            #expect(Set(adopted).isDisjoint(with: first.items.map(\.memberName) + second.items.map(\.memberName)))
        }
    }
}
