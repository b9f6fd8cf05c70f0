import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/studios`: rooms inside a club with Kisi locks of their own.

extension GymRoutes {
    func addStudioRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let clubID = try request.uuidParameter("club_id")
            return ListResponse(try await repository.studios(clubID: clubID, try request.pageRequest()), StudioBody.init)
        }
        group.post { request, context in
            let body = try await request.decodeJSON(StudioCreate.self, context: context)
            return EditedResponse(status: .created, response: StudioBody(try await repository.createStudio(body.draft)))
        }
        group.get(":id") { _, context in
            StudioBody(try await repository.studio(try context.id("studio")))
        }
        group.patch(":id") { request, context in
            let id = try context.id("studio")
            let patch = try await request.decodeJSON(StudioPatch.self, context: context)
            return StudioBody(try await repository.updateStudio(id) { patch.apply(to: &$0) })
        }
        group.delete(":id") { _, context in
            try await repository.deleteStudio(try context.id("studio"))
            return HTTPResponse.Status.noContent
        }
    }
}

// MARK: - JSON

struct StudioBody: ResponseEncodable, Sendable {
    let id: UUID
    let clubID: UUID
    let name: String
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids"
    }

    init(_ studio: Studio) {
        id = studio.id
        clubID = studio.clubID
        name = studio.name
        kisiLockIDs = studio.kisiLockIDs
    }
}

struct StudioCreate: Decodable {
    let clubID: UUID
    let name: String
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey { case clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clubID = try container.decode(UUID.self, forKey: .clubID)
        name = try container.decode(String.self, forKey: .name)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    var draft: StudioDraft { StudioDraft(clubID: clubID, name: name, kisiLockIDs: kisiLockIDs ?? []) }
}

struct StudioPatch: Decodable, Sendable {
    let clubID: UUID?
    let name: String?
    let kisiLockIDs: [Int]?
    enum CodingKeys: String, CodingKey { case clubID = "club_id", name, kisiLockIDs = "kisi_lock_ids" }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        clubID = try container.decodeIfPresent(UUID.self, forKey: .clubID)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        kisiLockIDs = try container.decodeIntegers(forKey: .kisiLockIDs)
    }

    func apply(to draft: inout StudioDraft) {
        if let clubID { draft.clubID = clubID }
        if let name { draft.name = name }
        if let kisiLockIDs { draft.kisiLockIDs = kisiLockIDs }
    }
}
