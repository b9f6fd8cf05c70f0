import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

/// Clubs & doors (managers): each club's Kisi place and entrance locks, and each studio's locks, picked
/// from what Kisi lists; every door with its state in Kisi and an Unlock button, or why the key may not unlock it.
extension AdminRoutes {
    func addClubRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("clubs") { request, context in
            let session = try require(request, context, role: .manager)
            return try page("clubs", request, context, session: session, active: "clubs", try await clubsData())
        }
        admin.post("clubs/:id") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let club = try await repository.club(try Self.id(context))
            let placeID = try Self.placeID(form)
            let lockIDs = try Self.lockIDs(form)
            return try await saveDoors(
                request, context, session: session, picks: DoorPicks(target: .club(club.id), placeID: placeID, lockIDs: lockIDs),
                placeOfLocks: placeID, current: club.kisiLockIDs, savedPlaceID: club.kisiPlaceID
            ) {
                _ = try await repository.updateClub(club.id) { draft in
                    draft.kisiPlaceID = placeID
                    draft.kisiLockIDs = lockIDs
                }
            }
        }
        admin.post("studios/:id") { request, context in
            let (session, form) = try await postedForm(request, context, role: .manager)
            let studio = try await repository.studio(try Self.id(context))
            let club = try await repository.club(studio.clubID)
            let lockIDs = try Self.lockIDs(form)
            return try await saveDoors(
                request, context, session: session, picks: DoorPicks(target: .studio(studio.id), placeID: club.kisiPlaceID, lockIDs: lockIDs),
                placeOfLocks: club.kisiPlaceID, current: studio.kisiLockIDs
            ) {
                _ = try await repository.updateStudio(studio.id) { $0.kisiLockIDs = lockIDs }
            }
        }
    }

    /// Checks the picks against what Kisi lists now, then saves them through the repository, whose rules
    /// (a lock is one door only) and change log (the sync re-plans the doors) apply as for the JSON API.
    /// A refusal shows the page again with the user's picks and the reasons in plain words.
    func saveDoors(
        _ request: Request, _ context: AdminContext, session: StaffSession, picks: DoorPicks, placeOfLocks: Int?, current: [Int],
        savedPlaceID: Int? = nil, save: () async throws -> Void
    ) async throws -> Response {
        var picks = picks
        let (catalog, problem) = await kisiCatalog()
        var status = HTTPResponse.Status.unprocessableContent
        if let catalog {
            // A saved place Kisi no longer lists may stay, so the club's locks can still be edited meanwhile.
            if case .club = picks.target, let place = picks.placeID, place != savedPlaceID, !catalog.places.contains(where: { $0.id == place }) {
                picks.errors.append("Kisi has no place \(place).")
            }
            picks.errors += Self.pickProblems(picks.lockIDs, placeID: placeOfLocks, current: current, catalog: catalog)
            if picks.errors.isEmpty {
                do {
                    try await save()
                    context.logger.notice("doors mapped from the admin UI", metadata: [
                        "staff_id": "\(session.staff.id)", "target": "\(picks.target)",
                        "kisi_place_id": "\(picks.placeID.map(String.init) ?? "none")",
                        "kisi_lock_ids": "\(picks.lockIDs.map(String.init).joined(separator: ","))",
                    ])
                    return Self.redirect("/admin/clubs?done=saved#\(picks.target.anchor)")
                } catch let errors as FieldErrors {
                    picks.errors += Self.plainSentences(errors)
                }
            }
        } else {
            // Without Kisi's lists the picks cannot be checked, and the page shows no pickers to keep them in.
            picks.errors.append("Not saved: \(problem ?? "Kisi did not answer.")")
            status = .serviceUnavailable
        }
        return try page("clubs", request, context, session: session, active: "clubs", try await clubsData(picks: picks, catalog: (catalog, problem)), status: status)
    }

    /// A lock Kisi knows must be in the place (when one is picked); a lock Kisi does not know may stay
    /// where it already is (Kisi may be catching up, or the door was removed and is being unticked) but
    /// cannot be added.
    static func pickProblems(_ lockIDs: [Int], placeID: Int?, current: [Int], catalog: KisiCatalog) -> [String] {
        lockIDs.compactMap { id in
            if let lock = catalog.locks[id] {
                guard let placeID, let lockPlace = lock.placeID, lockPlace != placeID else { return nil }
                return "\(lock.name) (lock \(id)) is in the Kisi place \(catalog.placeName(lockPlace)), not in \(catalog.placeName(placeID))."
            }
            return current.contains(id) ? nil : "Kisi has no lock \(id)."
        }
    }

    /// The repository's validation messages as sentences: lock messages already name the lock.
    static func plainSentences(_ errors: FieldErrors) -> [String] {
        let subjects = ["kisi_place_id": "The Kisi place", "name": "The name", "time_zone": "The time zone", "club_id": "The club"]
        return errors.fields.keys.sorted().flatMap { field in
            errors.fields[field, default: []].map { message in
                let sentence = subjects[field].map { "\($0) \(message)" } ?? message
                return sentence.prefix(1).uppercased() + sentence.dropFirst() + (sentence.hasSuffix(".") ? "" : ".")
            }
        }
    }

    static func placeID(_ form: FormData) throws -> Int? {
        guard let text = form.text("kisi_place_id") else { return nil }
        guard let id = Int(text), id > 0 else { throw AdminError.badRequest("The Kisi place must be picked from the list.") }
        return id
    }

    /// The ticked lock boxes (repeated `kisi_lock_ids` fields arrive joined with commas).
    static func lockIDs(_ form: FormData) throws -> [Int] {
        guard let text = form["kisi_lock_ids"], !text.isEmpty else { return [] }
        var ids: [Int] = []
        for part in text.split(separator: ",") {
            guard let id = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw AdminError.badRequest("The locks must be picked from the list.")
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// Kisi's places and locks, or the problem in plain words; bounded by the page's Kisi deadline.
    func kisiCatalog() async -> (KisiCatalog?, String?) {
        do {
            guard await kisiConnectionStored() else { return (nil, "Kisi is not connected.") }
            let control = self.control
            let catalog = try await withKisiDeadline("Kisi's places and locks") {
                KisiCatalog(places: try await control.places(), locks: try await control.locks())
            }
            return (catalog, nil)
        } catch {
            return (nil, Self.plainWords(error))
        }
    }

    func clubsData(picks: DoorPicks? = nil, catalog known: (KisiCatalog?, String?)? = nil) async throws -> [String: Any] {
        let layout = try await repository.layout()
        var loaded = known
        if loaded == nil { loaded = await kisiCatalog() }
        let (catalog, problem) = loaded ?? (nil, nil)
        // Asked only while Kisi answers: the rights are kept with the connection after the first time.
        let rights = catalog == nil ? nil : await control.connectionRights()
        var owners: [Int: (target: DoorPicks.Target, label: String)] = [:]
        for club in layout.clubs.values {
            for lock in club.kisiLockIDs { owners[lock] = (.club(club.id), "entrance of \(club.name)") }
        }
        for studio in layout.studios.values {
            let club = layout.clubs[studio.clubID]?.name ?? "?"
            for lock in studio.kisiLockIDs { owners[lock] = (.studio(studio.id), "studio \(studio.name) (\(club))") }
        }

        func door(_ lockID: Int) -> [String: Any] {
            let lock = catalog?.locks[lockID]
            let lockedDown = lock?.lockedDown == true
            // A door the key may not open shows why instead of a button that could only fail.
            let refusal = lock.flatMap { lock in
                rights?.unlockRefusal(placeID: lock.placeID, placeName: lock.placeName ?? lock.placeID.flatMap { catalog?.placeName($0) })
            }
            var door: [String: Any] = [
                "lockID": lockID, "name": lock?.name ?? "Lock \(lockID)",
                "online": lock.map { $0.online == false ? "offline" : $0.online == true ? "online" : "state unknown" } ?? "state unknown",
                "offline": lock?.online == false,
                // Without Kisi's name the door is already called "Lock 5021": the ID beside it says nothing more.
                "named": lock?.name != nil,
                "lockedDown": lockedDown,
                // Kisi refuses to unlock a locked-down door (409), and an offline lock cannot hear the
                // command, so there is nothing to press.
                "canUnlock": lock != nil && !lockedDown && lock?.online != false && refusal == nil,
            ]
            if let refusal { door["unlockRefusal"] = refusal }
            return door
        }

        /// The boxes of one door's form: the place's locks, then whatever is picked or saved outside it.
        func choices(for target: DoorPicks.Target, placeID: Int?, saved: [Int], picked: [Int]) -> [[String: Any]] {
            guard let catalog else { return [] }
            let inPlace = placeID.map { catalog.locks(inPlace: $0).map(\.id) } ?? []
            var ids = inPlace
            for id in picked + saved where !ids.contains(id) { ids.append(id) }
            return ids.map { id in
                let lock = catalog.locks[id]
                let isPicked = picked.contains(id)
                var row: [String: Any] = ["id": id, "name": lock?.name ?? "Lock \(id)", "checked": isPicked]
                if let owner = owners[id], owner.target != target {
                    row["usedBy"] = owner.label
                    // A door's lock is picked elsewhere only after it is freed there; a pick sent anyway
                    // stays ticked so the refusal shows what was asked.
                    row["disabled"] = !isPicked
                }
                if lock == nil {
                    row["note"] = "not found in Kisi"
                } else if let placeID, let lockPlace = lock?.placeID, lockPlace != placeID {
                    row["note"] = "in \(catalog.placeName(lockPlace))"
                }
                return row
            }
        }

        /// Kisi's places, plus the selected one when Kisi no longer lists it: without it the browser would
        /// select "No Kisi place" and a save would clear the club's place unasked.
        func placeOptions(selected: Int?) -> [[String: Any]] {
            var options = (catalog?.places ?? []).sorted { $0.name < $1.name }.map { place -> [String: Any] in
                ["id": place.id, "name": place.name, "selected": place.id == selected]
            }
            if let selected, let catalog, !catalog.places.contains(where: { $0.id == selected }) {
                options.append(["id": selected, "name": "place \(selected), not found in Kisi", "selected": true])
            }
            return options
        }

        func placeLabel(_ id: Int?) -> String {
            guard let id else { return "none" }
            return catalog.map { "\($0.placeName(id)) (\(id))" } ?? String(id)
        }

        let clubs = layout.clubs.values.sorted { $0.name < $1.name }.map { club -> [String: Any] in
            let clubPicks = picks?.target == .club(club.id) ? picks : nil
            let placeID = clubPicks.map(\.placeID) ?? club.kisiPlaceID
            let studios = layout.studios.values.filter { $0.clubID == club.id }.sorted { $0.name < $1.name }.map { studio -> [String: Any] in
                let studioPicks = picks?.target == .studio(studio.id) ? picks : nil
                return [
                    "id": studio.id.uuidString, "name": studio.name, "anchor": DoorPicks.Target.studio(studio.id).anchor,
                    "doors": studio.kisiLockIDs.map(door),
                    "lockList": studio.kisiLockIDs.isEmpty ? "none" : studio.kisiLockIDs.map(String.init).joined(separator: ", "),
                    "choices": choices(
                        for: .studio(studio.id), placeID: club.kisiPlaceID, saved: studio.kisiLockIDs,
                        picked: studioPicks?.lockIDs ?? studio.kisiLockIDs),
                    "errors": studioPicks?.errors ?? [],
                    "hasErrors": !(studioPicks?.errors ?? []).isEmpty,
                ]
            }
            return [
                "id": club.id.uuidString, "name": club.name, "timeZone": club.timeZone.identifier,
                "anchor": DoorPicks.Target.club(club.id).anchor,
                "place": placeLabel(club.kisiPlaceID),
                "hasPlace": club.kisiPlaceID != nil,
                "lockList": club.kisiLockIDs.isEmpty ? "none" : club.kisiLockIDs.map(String.init).joined(separator: ", "),
                "doors": club.kisiLockIDs.map(door),
                "places": placeOptions(selected: placeID),
                "noPlace": placeID == nil,
                "choices": choices(for: .club(club.id), placeID: placeID, saved: club.kisiLockIDs, picked: clubPicks?.lockIDs ?? club.kisiLockIDs),
                "errors": clubPicks?.errors ?? [],
                "hasErrors": !(clubPicks?.errors ?? []).isEmpty,
                "studios": studios,
            ]
        }
        var data: [String: Any] = ["clubs": clubs, "picking": catalog != nil]
        if let problem { data["problem"] = problem }
        return data
    }
}

/// One form's picks as posted, kept to show again with the reasons when the save is refused.
struct DoorPicks: Sendable {
    enum Target: Equatable, Sendable, CustomStringConvertible {
        case club(UUID)
        case studio(UUID)

        /// The form's element ID on the page, so a redirect lands on it.
        var anchor: String {
            switch self {
            case .club(let id): "club-\(id.uuidString)"
            case .studio(let id): "studio-\(id.uuidString)"
            }
        }

        var description: String { anchor }
    }

    var target: Target
    var placeID: Int?
    var lockIDs: [Int]
    var errors: [String] = []
}

/// What Kisi lists of the organization's places and locks.
struct KisiCatalog: Sendable {
    let places: [KisiPlaceSummary]
    let locks: [Int: KisiLockSummary]

    init(places: [KisiPlaceSummary], locks: [KisiLockSummary]) {
        self.places = places
        self.locks = Dictionary(locks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func locks(inPlace placeID: Int) -> [KisiLockSummary] {
        locks.values.filter { $0.placeID == placeID }.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
    }

    func placeName(_ id: Int) -> String {
        places.first { $0.id == id }?.name ?? "place \(id)"
    }
}
