import Foundation
import GymStore
import KisiAPI
import Logging
import Testing

@testable import AccessSync

@Suite("What the connected key may do, as pages use it")
struct KisiKeyRightsTests {
    static let oldTown = KisiPlaceSummary(id: 1001, name: "Old Town")
    static let floreasca = KisiPlaceSummary(id: 1002, name: "Floreasca")

    static func placeAdministrator() -> KisiKeyRights {
        KisiKeyRights(
            reach: .places([oldTown, floreasca]), canRegisterWebhook: false, unlock: .places([oldTown, floreasca]),
            readEvents: .places([oldTown, floreasca]), lines: ["…"])
    }

    @Test("A place administrator's key may unlock its places' doors only, and says so for a door elsewhere")
    func unlockWithinPlaces() {
        let rights = Self.placeAdministrator()
        #expect(rights.unlockRefusal(placeID: 1001, placeName: "Old Town") == nil)
        #expect(rights.unlockRefusal(placeID: 1003, placeName: "Cluj Centru") == "This Kisi key may not unlock doors at Cluj Centru.")
        #expect(rights.unlockRefusal(placeID: 1003, placeName: nil) == "This Kisi key may not unlock doors at place 1003.")
        #expect(rights.unlockRefusal(placeID: nil, placeName: nil)?.contains("Old Town and Floreasca only") == true)
    }

    @Test("An organization-wide right unlocks everywhere, no right nowhere, and unknown rights leave it to Kisi")
    func unlockElsewhere() {
        var rights = Self.placeAdministrator()
        rights.unlock = .organization
        #expect(rights.unlockRefusal(placeID: 1003, placeName: "Cluj Centru") == nil)
        rights.unlock = KisiKeyRights.PlaceReach.none
        #expect(rights.unlockRefusal(placeID: 1001, placeName: "Old Town") == "This Kisi key may not unlock doors.")
        rights.unlock = nil
        #expect(rights.unlockRefusal(placeID: 1003, placeName: "Cluj Centru") == nil)
        #expect(KisiKeyRights.undiscovered(because: KisiProblem(.timedOut, "late")).unlockRefusal(placeID: 1, placeName: nil) == nil)
    }

    @Test("Event sets are asked per place the key may read (the gym's among them), for the whole organization with one query, or not at all")
    func eventPlaces() {
        var rights = Self.placeAdministrator()
        #expect(rights.eventPlaceIDs(gymPlaceIDs: [1001, 1002, 1003]) == [1001, 1002])
        #expect(rights.eventPlaceIDs(gymPlaceIDs: [1002]) == [1002])
        #expect(rights.eventPlaceIDs(gymPlaceIDs: []) == [1001, 1002], "no club has a place: every place of the key")
        #expect(rights.eventPollingWords == "Door activity is read every 4 s from Kisi's event sets, for Old Town and Floreasca only (the places this Kisi key may read).")
        rights.readEvents = .organization
        #expect(rights.eventPlaceIDs(gymPlaceIDs: [1001]) == nil)
        #expect(rights.eventPollingWords == "Door activity is read every 4 s from Kisi's event sets.")
        rights.readEvents = KisiKeyRights.PlaceReach.none
        #expect(rights.eventPlaceIDs(gymPlaceIDs: [1001]) == [])
        rights.readEvents = nil
        #expect(rights.eventPlaceIDs(gymPlaceIDs: [1001]) == nil)
    }

    @Test("Rights are kept per key: another key's are not used, and a failed discovery is not kept")
    func keptPerKey() async throws {
        let database = try GymDatabase(location: .sqliteInMemory, logger: Logger(label: "key-rights-tests"))
        try await database.migrate()
        let repository = database.repository
        let placeKey = KisiSettings(apiKey: "place-key", organizationID: 1)
        let otherKey = KisiSettings(apiKey: "other-key", organizationID: 1)
        #expect(await KisiKeyRights.stored(for: placeKey, in: repository) == nil)
        try await Self.placeAdministrator().keep(for: placeKey, in: repository)
        #expect(await KisiKeyRights.stored(for: placeKey, in: repository) == Self.placeAdministrator())
        #expect(await KisiKeyRights.stored(for: otherKey, in: repository) == nil)
        let stored = try await repository.syncState.get(SyncStateEntry<StoredKisiKeyRights>.kisiKeyRights)
        #expect(stored?.keyFingerprint == placeKey.keyFingerprint)
        #expect(placeKey.keyFingerprint.count == 24 && !placeKey.keyFingerprint.contains("place-key"))

        try await KisiKeyRights.undiscovered(because: KisiProblem(.timedOut, "late")).keep(for: otherKey, in: repository)
        #expect(await KisiKeyRights.stored(for: placeKey, in: repository) == Self.placeAdministrator(), "a failure replaces nothing")
        await database.shutdown()
    }
}
