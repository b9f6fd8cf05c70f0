import Foundation
import GymCore
import GymStore
import Testing

@Suite("Repository: hostile input")
struct InputHardeningStoreTests {
    @Test("Member search takes LIKE's % _ and \\ literally", arguments: DatabaseKind.available)
    func searchEscapesLikeWildcards(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Popescu", email: "ana@example.com"))
            _ = try await repository.createMember(MemberDraft(firstName: "Bo", lastName: "Fit_100%", email: "bo@example.com"))
            _ = try await repository.createMember(MemberDraft(firstName: "Cy", lastName: "Back\\Slash", email: "cy@example.com"))
            let found = { (search: String) in try await repository.members(search: search).items.map(\.firstName) }
            #expect(try await found("%") == ["Bo"])
            #expect(try await found("_") == ["Bo"])
            #expect(try await found("\\") == ["Cy"])
            #expect(try await found("t_1") == ["Bo"])
            #expect(try await found("a_a").isEmpty)       // "ana" would match a wildcard
            #expect(try await found("p%u").isEmpty)       // "popescu" would match a wildcard
            #expect(try await found("%%").isEmpty)
            #expect(try await found("\\s") == ["Cy"])     // not an escaped "s", which Ana's e-mail also holds
            #expect(try await found("\\x").isEmpty)
            #expect(try await found("ana") == ["Ana"])
            #expect(try await found("an\u{0}a") == ["Ana"])  // PostgreSQL would refuse the NUL
        }
    }

    @Test("A staff account's name refuses control characters and more than 200 characters", arguments: DatabaseKind.available)
    func staffNames(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            for name in ["Olga\u{0}Owner", "Olga\u{1B}[2J", "\u{85}", String(repeating: "o", count: 201)] {
                await expectFieldError("name") {
                    _ = try await repository.createStaff(email: "olga@gym.example", name: name, role: .owner, passwordHash: "hash")
                }
            }
            #expect(try await repository.staffAccounts().isEmpty)
            _ = try await repository.createStaff(email: "olga@gym.example", name: " Olga Owner\n", role: .owner, passwordHash: "hash")
            #expect(try await repository.staffAccounts().map(\.name) == ["Olga Owner"])
        }
    }

    @Test("A page request far past the end, even with its fields set beyond range, answers nothing instead of overflowing", arguments: DatabaseKind.available)
    func pagingNeverOverflows(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await Fixture.make(repository)
            #expect(PageRequest(limit: .max, offset: .max) == PageRequest(limit: PageRequest.maximumLimit, offset: PageRequest.maximumOffset))
            var request = PageRequest()
            request.offset = .max
            request.limit = .max
            let members = try await repository.members(search: nil, request)
            #expect(members.items.isEmpty)
            #expect(members.total == 1)
            #expect(members.offset == PageRequest.maximumOffset)
            #expect(members.limit == PageRequest.maximumLimit)
            #expect(try await repository.clubs(request).items.isEmpty)
            #expect(try await repository.adoptedKisiUsers(request).items.isEmpty)
            request.offset = .min
            request.limit = .min
            #expect(try await repository.members(search: nil, request).items.count == 1)
        }
    }
}
