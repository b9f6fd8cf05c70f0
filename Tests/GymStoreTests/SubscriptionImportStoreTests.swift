import Foundation
import GymCore
import GymStore
import Testing

/// Subscription imports from real spreadsheet exports, on every database.
@Suite("Subscription import")
struct SubscriptionImportStoreTests {
    /// 2026-03-10 at noon in Bucharest: the instant the access outcome is computed for.
    static let instant = Date(timeIntervalSince1970: 1_773_136_800)

    static func gym(_ repository: GymRepository) async throws -> (club: Club, plan: Plan, archived: Plan) {
        let club = try await repository.createClub(ClubDraft(name: "Centru", timeZoneIdentifier: "Europe/Bucharest", kisiPlaceID: 1, kisiLockIDs: [101]))
        let plan = try await repository.createPlan(PlanDraft(name: "Full Access", clubIDs: [club.id]))
        let archived = try await repository.createPlan(PlanDraft(name: "Old Morning", clubIDs: [club.id], isArchived: true))
        return (club, plan, archived)
    }

    /// A German/Romanian Excel export: UTF-8 with BOM, semicolons, English and German headers,
    /// day-first dates, a quoted note with a line break and a semicolon, CRLF line ends.
    static let excelExport = "\u{FEFF}" + [
        "Vorname;Last Name;E-mail;Phone Number;Notes;Membership;Start Date;End Date;Paid Through;Freeze From;Freeze Until;Cancelled From",
        "Ana;Popescu;ana@example.com;+40 721 000 111;\"Prefers mornings;\r\nuses the sauna\";full access;01.01.2026;;31.03.2026;;;",
        "Ion;Ionescu;ion@example.com;;;Full Access;2026-01-01;2026-12-31;;2026-03-01;2026-03-20;",
        "Maria;Pop;maria@example.com;;;Full Access;2025-06-01;;2026-05-31;;;2026-03-01",
        "Radu;Matei;radu@example.com;;;Full Access;2026-04-01;2026-06-30;;;;",
        "Elena;Stan;elena@example.com;;;;;;;;;",
        "Vlad;Dinu;vlad@example.com;;;Old Morning;2024-01-01;2024-12-31;;;;",
    ].joined(separator: "\r\n") + "\r\n"

    @Test("An Excel export with BOM, semicolons and a quoted line break: the dry run tells the door access and writes nothing, then the import writes it all in one go",
          arguments: DatabaseKind.available)
    func excelExport(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let gym = try await Self.gym(repository)
            let parsed = try SubscriptionCSV.parse(Data(Self.excelExport.utf8))
            #expect(parsed.encoding == .utf8WithBOM)
            #expect(parsed.separatorName == "semicolon")
            #expect(parsed.columns.summary.hasPrefix("Vorname → first_name, Last Name → last_name, E-mail → email, Phone Number → phone"))
            #expect(parsed.problems.isEmpty, "\(parsed.problems)")
            #expect(parsed.rows.map(\.line) == [2, 4, 5, 6, 7, 8], "the quoted line break makes Ana's row two lines long")
            #expect(parsed.rows[0].member.notes == "Prefers mornings;\nuses the sauna")

            let before = try await tableCounts(database)
            let changesBefore = try await repository.accessChanges().count
            let dry = try await repository.importSubscriptions(parsed.rows, skipInvalid: false, dryRun: true, at: Self.instant)
            #expect(try await tableCounts(database) == before, "a dry run writes nothing")
            #expect(!dry.written)
            #expect(dry.problems.isEmpty, "\(dry.problems)")
            #expect(dry.newMembers.count == 6)
            #expect(dry.subscriptions.count == 5)
            // Ana: active; Ion: frozen on 10 March; Maria: cancelled from 1 March; Radu: starts in April;
            // Elena: no subscription; Vlad: ended on an archived plan (history may name it).
            #expect(dry.access.membersWithAccess == 1)
            #expect(dry.access.membersWithUpcomingAccess == 1)
            #expect(dry.access.membersWithoutAccess == [.frozen: 1, .cancelled: 1, .noSubscription: 1, .notStarted: 1, .ended: 1])
            #expect(dry.access.kisiUsersNeeded.map(\.value) == ["ana@example.com", "radu@example.com"])
            #expect(dry.access.kisiUsersLinked == 0)

            let done = try await repository.importSubscriptions(parsed.rows, skipInvalid: false, dryRun: false, at: Self.instant)
            #expect(done.written)
            #expect(done.access == dry.access)
            let ion = try #require(try await repository.member(email: "ion@example.com"))
            let ions = try await repository.subscriptions(memberID: ion.id)
            #expect(ions.count == 1)
            #expect(ions.first?.paidThrough == LocalDate("2026-12-31"), "a fixed term without paid-through is paid to its end")
            #expect(ions.first?.freezes.map(\.span) == [DateSpan(first: LocalDate("2026-03-01")!, last: LocalDate("2026-03-20")!)])
            let maria = try #require(try await repository.member(email: "maria@example.com"))
            #expect(try await repository.subscriptions(memberID: maria.id).first?.cancellation?.effectiveDate == LocalDate("2026-03-01"))
            let ana = try #require(try await repository.member(email: "ana@example.com"))
            #expect(try await repository.accessDecision(memberID: ana.id, at: Self.instant).mayEnter)
            #expect(try await repository.subscriptions(memberID: ana.id).first?.planID == gym.plan.id, "plans are matched without case")
            // One access change per member and per subscription: the sync sees every one.
            #expect(try await repository.accessChanges().count == changesBefore + 6 + 5)

            // The same file again adds nothing: every subscription is already there.
            let again = try await repository.importSubscriptions(parsed.rows, skipInvalid: false, dryRun: false, at: Self.instant)
            #expect(!again.written)
            #expect(again.problems.map(\.line) == [2, 4, 5, 6, 8])
            #expect(again.problems.allSatisfy { $0.message.contains("imported before") }, "\(again.problems)")
        }
    }

    @Test("A Windows-1250 export (Romanian letters) is read as Windows-1250, and the import says so", arguments: DatabaseKind.available)
    func windows1250(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await Self.gym(repository)
            // "Ştefan;Ţăranu" in Windows-1250: Ş = 0xAA, Ţ = 0xDE, ă = 0xE3; "Müller" ü = 0xFC.
            var bytes = Array("first_name;last_name;email;plan;start_date;paid_through\r\n".utf8)
            bytes += [0xAA] + Array("tefan;".utf8) + [0xDE, 0xE3] + Array("ranu;stefan@example.com;Full Access;2026-01-01;2026-12-31\r\n".utf8)
            bytes += Array("Jana;M".utf8) + [0xFC] + Array("ller;jana@example.com;Full Access;2026-01-01;2026-12-31\r\n".utf8)
            let parsed = try SubscriptionCSV.parse(Data(bytes))
            #expect(parsed.encoding == .windows1250)
            #expect(parsed.rows.map(\.member.firstName) == ["Ştefan", "Jana"])
            #expect(parsed.rows.map(\.member.lastName) == ["Ţăranu", "Müller"])
            let result = try await repository.importSubscriptions(parsed.rows, skipInvalid: false, dryRun: false, at: Self.instant)
            #expect(result.written)
            #expect(try await repository.member(email: "stefan@example.com")?.lastName == "Ţăranu")
            #expect(result.access.membersWithAccess == 2)

            // The same bytes forced to Windows-1252 read otherwise, as the override promises.
            #expect(try SubscriptionCSV.parse(Data(bytes), forcedEncoding: .windows1252).rows.first?.member.firstName == "ªtefan")
        }
    }

    @Test("One bad row imports nothing and is named by its line; with skipInvalid the good rows go in", arguments: DatabaseKind.available)
    func badRow(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            _ = try await Self.gym(repository)
            let existing = try await repository.createMember(MemberDraft(firstName: "Old", lastName: "Member", email: "old@example.com"))
            let text = """
                First Name,Last Name,Email,Plan,Start,Paid Until
                Ana,Popescu,ana@example.com,Full Access,2026-01-01,2026-12-31
                Ion,Ionescu,ion@example.com,Gold,2026-01-01,2026-12-31
                Old,Member,OLD@example.com,Full Access,2026-02-01,2026-12-31
                Eva,Ene,eva@example.com,Full Access,03/01/2026,2026-12-31
                Ana,Other,ana@example.com,Full Access,2027-01-01,2027-12-31
                Dan,Dan,dan@example.com,Old Morning,2026-01-01,2026-12-31

                """
            let parsed = try SubscriptionCSV.parse(text)
            #expect(parsed.separatorName == "comma")
            #expect(parsed.problems.map(\.line) == [5], "a date with slashes is refused while reading: \(parsed.problems)")
            let before = try await tableCounts(database)
            let refused = try await repository.importSubscriptions(parsed.rows, earlierProblems: parsed.problems, skipInvalid: false, dryRun: false, at: Self.instant)
            #expect(!refused.written)
            #expect(try await tableCounts(database) == before, "nothing is written while a row is bad")
            #expect(refused.problems.map(\.line) == [3, 5, 6, 7])
            #expect(refused.problems[0].message.contains("no plan named \"Gold\""))
            #expect(refused.problems[2].message.contains("is Ana Popescu on line 2"))
            #expect(refused.problems[3].message.contains("archived"))

            let partial = try await repository.importSubscriptions(parsed.rows, earlierProblems: parsed.problems, skipInvalid: true, dryRun: false, at: Self.instant)
            #expect(partial.written)
            #expect(partial.newMembers.map(\.email.value) == ["ana@example.com"])
            #expect(partial.existingMembers.map(\.id) == [existing.id], "an existing member found by e-mail gets the subscription")
            #expect(try await repository.subscriptions(memberID: existing.id).count == 1)
            #expect(try await repository.member(email: "ion@example.com") == nil)
        }
    }

    @Test("A member created from a Kisi user is linked to it in the same transaction; a user linked already is refused", arguments: DatabaseKind.available)
    func memberFromKisiUser(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let member = try await repository.createMember(MemberDraft(firstName: "Ana", lastName: "Pop", email: "ana@example.com"), linkedToKisiUser: 77, by: "staff:owner@example.com")
            #expect(try await repository.kisiUserIDs(memberIDs: [member.id]) == [member.id: 77])
            #expect(try await repository.memberIDs(linkedToKisiUsers: [77, 78]) == [77: member.id])
            let before = try await tableCounts(database)
            await #expect(throws: StoreError.self) {
                _ = try await repository.createMember(MemberDraft(firstName: "Ion", lastName: "Pop", email: "ion@example.com"), linkedToKisiUser: 77, by: "staff:owner@example.com")
            }
            #expect(try await tableCounts(database) == before)
        }
    }
}
