import Foundation
import KisiSandbox
import Testing

@testable import KisiAPI

@Suite("What an API key may do")
struct KeyCapabilitiesTests {
    private func discover(_ request: SandboxKeyRequest?) async throws -> KisiKeyCapabilities {
        try await withLiveSandbox(requestsPerSecond: 0) { live in
            var key = live.key
            if let request { key = try await live.sandbox.createAPIKey(request).secret }
            return try await live.client(key: key, requestsPerSecond: 1000).discoverKeyCapabilities()
        }
    }

    @Test("The demo owner's key manages everything everywhere and may register a webhook")
    func owner() async throws {
        let caps = try await discover(nil)
        #expect(caps.userEmail == "owner@boogyman.example")
        #expect(caps.organizationName == "BooGYMan Demo Gym")
        #expect(caps.organizationRoles.map(\.roleID) == ["owner"])
        #expect(caps.managesWholeOrganization)
        #expect(caps.registerWebhook)
        #expect(caps.readEvents == .organization)
        #expect(caps.unlock == .organization)
        #expect(caps.missingSyncPermissions.isEmpty)
        let words = caps.summary(eventPollingInterval: .seconds(10))
        #expect(words.contains("Gym Owner (owner@boogyman.example), organization owner of BooGYMan Demo Gym"))
        #expect(words.contains("It can register a webhook"))
        #expect(!words.contains("event sets"))
    }

    @Test("An access manager's key manages users, groups and access rights everywhere but cannot register a webhook")
    func accessManager() async throws {
        let caps = try await discover(.accessManager())
        #expect(caps.organizationRoles.map(\.roleName) == ["Organization access manager"])
        #expect(caps.manageUsers == .organization)
        #expect(caps.manageGroups == .organization)
        #expect(caps.manageGroupLocks == .organization)
        #expect(caps.manageRoleAssignments == .organization)
        #expect(!caps.registerWebhook)
        #expect(caps.readEvents == .organization)
        #expect(caps.unlock == .organization)
        #expect(caps.administeredPlaceIDs.isEmpty)
        #expect(caps.plainWords(eventPollingInterval: .seconds(10)) == [
            "This key belongs to Access Manager (access.manager@sandbox.example), organization access manager of BooGYMan Demo Gym.",
            "BooGYMan will manage Kisi users, organization groups, their doors and members' access rights anywhere in the organization.",
            "It cannot register a webhook; door activity will be read from event sets every 10 seconds.",
            "Staff can unlock every door from BooGYMan.",
        ])
    }

    @Test("A place administrator's key administers its places only, with place-scoped groups, no webhook and its own doors")
    func placeAdministrator() async throws {
        let caps = try await discover(.placeAdministrator(of: [1002, 1001]))
        #expect(caps.organizationRoles.isEmpty)
        #expect(caps.placeRoles.map(\.scopeName) == ["Floreasca", "Old Town"])
        #expect(caps.manageGroups == .places([1001, 1002]))
        #expect(caps.manageGroupLocks == .places([1001, 1002]))
        #expect(caps.manageRoleAssignments == .places([1001, 1002]))
        #expect(caps.manageUsers == .places([1001, 1002]))
        #expect(caps.administeredPlaceIDs == [1001, 1002])
        #expect(!caps.managesWholeOrganization)
        #expect(!caps.registerWebhook)
        #expect(caps.readEvents == .places([1001, 1002]))
        #expect(caps.unlock.covers(placeID: 1001) && !caps.unlock.covers(placeID: 1003))
        #expect(caps.plainWords(eventPollingInterval: .seconds(15)) == [
            "This key belongs to Place Administrator (place.admin@sandbox.example), place administrator of Old Town and Floreasca.",
            "This key administers places Old Town and Floreasca; BooGYMan will manage place-scoped groups there, one per plan and place, and cannot give access to doors elsewhere.",
            "It cannot register a webhook; door activity will be read from event sets every 15 seconds, for Old Town and Floreasca only.",
            "Staff can unlock the doors of Old Town and Floreasca from BooGYMan, no others.",
        ])
    }

    @Test("An observer's key reads events but can manage nothing; a key without roles can do nothing")
    func observerAndPlainUser() async throws {
        let observer = try await discover(SandboxKeyRequest(email: "watcher@example.com", name: "Watcher", roleID: "observer"))
        #expect(observer.missingSyncPermissions == ["users_write", "groups_write", "group_locks_write", "role_assignments_write"])
        #expect(observer.readEvents == .organization)
        #expect(observer.unlock == .none)
        let words = observer.plainWords(eventPollingInterval: .seconds(10))
        #expect(words.contains("BooGYMan cannot manage door access with this key: it cannot create or change users, create groups, add doors to groups and grant access rights."))
        #expect(words.last == "It has no right to unlock doors, so BooGYMan shows no Unlock button.")

        let plain = try await discover(SandboxKeyRequest(userID: 2))
        #expect(plain.roles.map(\.roleID) == ["group_basic"])
        #expect(plain.missingSyncPermissions.count == 4)
        #expect(plain.readEvents == .none)
        #expect(plain.plainWords(eventPollingInterval: .seconds(10)) == [
            "This key belongs to Ana Popescu (ana.popescu@boogyman.example), who holds no organization or place role in BooGYMan Demo Gym.",
            "BooGYMan cannot manage door access with this key: it cannot create or change users, create groups, add doors to groups and grant access rights.",
            "It can neither register a webhook nor read events, so BooGYMan will show no door activity.",
            "It has no right to unlock doors, so BooGYMan shows no Unlock button.",
        ])
    }

    @Test("Rights come from organization and place roles only, and unknown roles are said to be unknown")
    func pureRules() {
        let manager = KisiKeyRole(roleID: "group_manager", roleName: "Group manager", scope: .group(id: 7),
                                  permissions: ["role_assignments_write": true, "users_read": true])
        let placeWithoutUsers = KisiKeyRole(roleID: "custom", roleName: "Door keeper", scope: .place(id: 3), scopeName: "Annex",
                                            permissions: ["groups_write": true, "group_locks_write": true,
                                                          "role_assignments_write": true, "locks_unlock": true])
        let caps = KisiKeyCapabilities(userID: 1, userName: "", userEmail: "k@example.com", roles: [manager, placeWithoutUsers])
        #expect(caps.manageRoleAssignments == .places([3]))
        #expect(caps.manageUsers == .none)
        #expect(caps.administeredPlaceIDs == [3])
        let words = caps.plainWords(eventPollingInterval: .seconds(1))
        #expect(words[0] == "This key belongs to k@example.com, door keeper of Annex.")
        #expect(words[1].hasPrefix("This key administers place Annex;"))
        #expect(words[2] == "It cannot create Kisi users, so members without a Kisi user cannot be given access.")

        let unknown = KisiKeyCapabilities(userID: 1, userName: "Kim", userEmail: "k@example.com", roles: [], rolesKnown: false)
        #expect(unknown.summary(eventPollingInterval: .seconds(10))
            == "This key belongs to Kim (k@example.com), but Kisi did not let BooGYMan read its roles, so what it may do is unknown.")
        #expect(KisiKeyCapabilities.seconds(.milliseconds(2500)) == "2.5 seconds")
        #expect(KisiKeyCapabilities.list(["a", "b", "c"]) == "a, b and c")
    }
}
