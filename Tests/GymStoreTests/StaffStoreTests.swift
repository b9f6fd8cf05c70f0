import Foundation
import GymCore
import GymStore
import Testing

@Suite("Staff accounts and sessions")
struct StaffStoreTests {
    @Test("A staff account is created once per e-mail, regardless of letter case", arguments: DatabaseKind.available)
    func staffAccountsAreUniqueByEmail(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let owner = try await repository.createStaff(email: "Owner@Gym.example", name: "Olga Owner", role: .owner, passwordHash: "$2b$10$hash")
            #expect(owner.role == .owner)
            #expect(owner.email.value == "Owner@Gym.example")
            await expectFieldError("email") {
                _ = try await repository.createStaff(email: "owner@gym.example", name: "Other", role: .frontDesk, passwordHash: "$2b$10$x")
            }
            await expectFieldError("email") {
                _ = try await repository.createStaff(email: "not an address", name: "Other", role: .frontDesk, passwordHash: "$2b$10$x")
            }
            await expectFieldError("name") {
                _ = try await repository.createStaff(email: "desk@gym.example", name: "  ", role: .frontDesk, passwordHash: "$2b$10$x")
            }
            // Timestamps come back at the database's precision, so accounts are compared by ID.
            #expect(try await repository.staffAccounts().map(\.id) == [owner.id])
            let credentials = try #require(try await repository.staffCredentials(email: " OWNER@gym.example "))
            #expect(credentials.account.id == owner.id)
            #expect(credentials.account.role == .owner)
            #expect(credentials.passwordHash == "$2b$10$hash")
            #expect(try await repository.staffCredentials(email: "nobody@gym.example") == nil)
        }
    }

    @Test("A session is found by its secret until it expires or is ended, and only a hash is stored", arguments: DatabaseKind.available)
    func sessionsFollowTheirSecret(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let staff = try await repository.createStaff(email: "desk@gym.example", name: "Dan Desk", role: .frontDesk, passwordHash: "$2b$10$hash")
            let start = Date(timeIntervalSince1970: 1_800_000_000)
            let (session, secret) = try await repository.createStaffSession(staffID: staff.id, lifetime: 3600, now: start)
            #expect(secret.count >= 43)
            #expect(session.staff.id == staff.id)
            #expect(try await repository.staffSession(secret: secret, now: start.addingTimeInterval(60))?.staff.id == staff.id)
            #expect(try await repository.staffSession(secret: secret + "x", now: start) == nil)
            #expect(try await repository.staffSession(secret: secret, now: start.addingTimeInterval(3601)) == nil)
            // A second database handle (another replica) sees the same session.
            #expect(try await GymRepository(database: database.database).staffSession(secret: secret, now: start)?.id == session.id)
            try await repository.deleteStaffSession(secret: secret)
            #expect(try await repository.staffSession(secret: secret, now: start) == nil)
            try await repository.deleteStaffSession(secret: secret)
        }
    }

}

@Suite("Staff account management")
struct StaffManagementTests {
    @Test("Disabling an account ends its sessions, and the last enabled owner can be neither disabled nor demoted", arguments: DatabaseKind.available)
    func disablingEndsSessionsAndKeepsAnOwner(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let owner = try await repository.createStaff(email: "owner@gym.example", name: "Olga Owner", role: .owner, passwordHash: "$2b$10$a")
            let desk = try await repository.createStaff(email: "desk@gym.example", name: "Dan Desk", role: .frontDesk, passwordHash: "$2b$10$b")
            let now = Date()
            let (_, deskSecret) = try await repository.createStaffSession(staffID: desk.id, lifetime: 3600, now: now)

            let disabled = try await repository.setStaffDisabled(id: desk.id, disabled: true, actingStaffID: owner.id)
            #expect(disabled.isDisabled)
            #expect(try await repository.staffSession(secret: deskSecret, now: now) == nil)
            #expect(try await repository.staffCredentials(email: "desk@gym.example")?.account.isDisabled == true)

            await #expect(throws: StoreError.self) { _ = try await repository.setStaffDisabled(id: owner.id, disabled: true, actingStaffID: owner.id) }
            await #expect(throws: StoreError.self) { _ = try await repository.setStaffRole(id: owner.id, role: .manager) }
            await #expect(throws: StoreError.self) { _ = try await repository.setStaffDisabled(id: UUID(), disabled: true, actingStaffID: owner.id) }
            #expect(try await repository.staffAccounts().first { $0.id == owner.id }?.role == .owner)

            // With a second owner, the first may step down.
            _ = try await repository.setStaffRole(id: desk.id, role: .owner)
            _ = try await repository.setStaffDisabled(id: desk.id, disabled: false, actingStaffID: owner.id)
            #expect(try await repository.setStaffRole(id: owner.id, role: .manager).role == .manager)
        }
    }

    @Test("Changing a password ends every other session of the account", arguments: DatabaseKind.available)
    func passwordChangeEndsOtherSessions(kind: DatabaseKind) async throws {
        try await withFreshDatabase(kind) { database in
            let repository = database.repository
            let staff = try await repository.createStaff(email: "mgr@gym.example", name: "Mara Manager", role: .manager, passwordHash: "$2b$10$old")
            let now = Date()
            let (kept, keptSecret) = try await repository.createStaffSession(staffID: staff.id, lifetime: 3600, now: now)
            let (_, otherSecret) = try await repository.createStaffSession(staffID: staff.id, lifetime: 3600, now: now)
            try await repository.changeStaffPassword(id: staff.id, passwordHash: "$2b$10$new", keepingSession: kept.id)
            #expect(try await repository.staffSession(secret: keptSecret, now: now) != nil)
            #expect(try await repository.staffSession(secret: otherSecret, now: now) == nil)
            #expect(try await repository.staffCredentials(email: "mgr@gym.example")?.passwordHash == "$2b$10$new")
        }
    }
}
