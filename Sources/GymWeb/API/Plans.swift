import Foundation
import GymCore
import GymStore
import Hummingbird

// `/api/v1/plans`: what the gym sells; each plan is one Kisi group.

extension GymRoutes {
    func addPlanRoutes(to group: RouterGroup<APIContext>) {
        group.get { request, _ in
            let includeArchived = try request.boolParameter("include_archived") ?? true
            let page = try await repository.plans(includeArchived: includeArchived, try request.pageRequest())
            let layout = try await repository.layout()
            return ListResponse(page) { PlanBody($0, layout: layout) }
        }
        group.post { request, context in
            let body = try await request.decodeJSON(PlanCreate.self, context: context)
            let plan = try await repository.createPlan(body.draft)
            return EditedResponse(status: .created, response: PlanBody(plan, layout: try await repository.layout()))
        }
        group.get(":id") { _, context in
            PlanBody(try await repository.plan(try context.id("plan")), layout: try await repository.layout())
        }
        group.patch(":id") { request, context in
            let id = try context.id("plan")
            let patch = try await request.decodeJSON(PlanPatch.self, context: context)
            let plan = try await repository.updatePlan(id) { patch.apply(to: &$0) }
            return PlanBody(plan, layout: try await repository.layout())
        }
        group.delete(":id") { _, context in
            try await repository.deletePlan(try context.id("plan"))
            return HTTPResponse.Status.noContent
        }
    }
}

// MARK: - JSON

struct PlanBody: ResponseEncodable, Sendable {
    let id: UUID
    let name: String
    let clubIDs: [UUID]
    let studioIDs: [UUID]
    let pastDueGraceDays: Int
    let archived: Bool
    /// Derived: every Kisi lock the plan opens (its Kisi group's doors).
    let kisiLockIDs: [Int]

    enum CodingKeys: String, CodingKey {
        case id, name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days"
        case archived, kisiLockIDs = "kisi_lock_ids"
    }

    init(_ plan: Plan, layout: GymLayout) {
        id = plan.id
        name = plan.name
        clubIDs = plan.clubIDs
        studioIDs = plan.studioIDs
        pastDueGraceDays = plan.pastDueGraceDays
        archived = plan.isArchived
        kisiLockIDs = layout.lockIDs(of: plan)
    }
}

struct PlanCreate: Decodable {
    let name: String
    let clubIDs: [UUID]?
    let studioIDs: [UUID]?
    let pastDueGraceDays: Int?
    let archived: Bool?
    enum CodingKeys: String, CodingKey {
        case name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days", archived
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        clubIDs = try container.decodeIfPresent([UUID].self, forKey: .clubIDs)
        studioIDs = try container.decodeIfPresent([UUID].self, forKey: .studioIDs)
        pastDueGraceDays = try container.decodeInteger(forKey: .pastDueGraceDays)
        archived = try container.decodeIfPresent(Bool.self, forKey: .archived)
    }

    var draft: PlanDraft {
        PlanDraft(name: name, clubIDs: clubIDs ?? [], studioIDs: studioIDs ?? [], pastDueGraceDays: pastDueGraceDays ?? 0, isArchived: archived ?? false)
    }
}

struct PlanPatch: Decodable, Sendable {
    let name: String?
    let clubIDs: [UUID]?
    let studioIDs: [UUID]?
    let pastDueGraceDays: Int?
    let archived: Bool?
    enum CodingKeys: String, CodingKey {
        case name, clubIDs = "club_ids", studioIDs = "studio_ids", pastDueGraceDays = "past_due_grace_days", archived
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        clubIDs = try container.decodeIfPresent([UUID].self, forKey: .clubIDs)
        studioIDs = try container.decodeIfPresent([UUID].self, forKey: .studioIDs)
        pastDueGraceDays = try container.decodeInteger(forKey: .pastDueGraceDays)
        archived = try container.decodeIfPresent(Bool.self, forKey: .archived)
    }

    func apply(to draft: inout PlanDraft) {
        if let name { draft.name = name }
        if let clubIDs { draft.clubIDs = clubIDs }
        if let studioIDs { draft.studioIDs = studioIDs }
        if let pastDueGraceDays { draft.pastDueGraceDays = pastDueGraceDays }
        if let archived { draft.isArchived = archived }
    }
}
