import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/clubs`: clubs and the Kisi place and entrance locks of each.

extension GymRoutes {
    func addClubRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            ListResponse(try await repository.clubs(try request.pageRequest()), ClubBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(ClubCreate.self, context: context)
            return EditedResponse(status: .created, response: ClubBody(try await repository.createClub(body.draft)))
        }
        group.get(":id") { _, context in
            ClubBody(try await repository.club(try context.id("club")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("club")
            let patch = try await request.decodeJSON(ClubPatch.self, context: context)
            return ClubBody(try await repository.updateClub(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteClub(try context.id("club"))
            return HTTPResponse.Status.noContent
        }
    }
}

// MARK: - JSON

struct ClubBody: ResponseEncodable, Sendable {
    let id: UUID
    let name: String
    let timeZone: String
    let kisiPlaceID: Int?
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, name, timeZone = "time_zone", kisiPlaceID = "kisi_place_id", kisiLockIDs = "kisi_lock_ids"
    }

    init(_ club: Club) {
        id = club.id
        name = club.name
        timeZone = club.timeZone.identifier
        kisiPlaceID = club.kisiPlaceID
        kisiLockIDs = club.kisiLockIDs
    }
}

struct ClubCreate: Decodable {
    let name: String
    let timeZone: String
    let kisiPlaceID: Int?
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey {
        case name, timeZone = "time_zone", kisiPlaceID = "kisi_place_id", kisiLockIDs = "kisi_lock_ids"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        timeZone = try container.decode(String.self, forKey: .timeZone)
        kisiPlaceID = try container.decodeInteger(forKey: .kisiPlaceID)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    var draft: ClubDraft {
        ClubDraft(name: name, timeZoneIdentifier: timeZone, kisiPlaceID: kisiPlaceID, kisiLockIDs: kisiLockIDs ?? [])
    }
}

struct ClubPatch: Decodable, Sendable {
    var name: String?
    var timeZone: String?
    var kisiPlaceID: Int??
    var kisiLockIDs: [Int]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: ClubBody.CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone)
        kisiPlaceID = try container.patchInteger(forKey: .kisiPlaceID)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    func apply(to draft: inout ClubDraft) {
        if let name { draft.name = name }
        if let timeZone { draft.timeZoneIdentifier = timeZone }
        if let kisiPlaceID { draft.kisiPlaceID = kisiPlaceID }
        if let kisiLockIDs { draft.kisiLockIDs = kisiLockIDs }
    }
}
