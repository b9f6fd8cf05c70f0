import AccessSync
import Foundation
import GymCore
import GymStore
import Hummingbird

/// The Kisi connection wizard and staff accounts (owners), and door unlocking (managers).
extension AdminRoutes {
    func addKisiRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("settings") { request, context in
            let session = try require(request, context, role: .owner)
            return try page("settings", request, context, session: session, active: "settings", try await settingsData(viewer: session.staff.id))
        }
        admin.post("settings/kisi") { request, context in
            let (session, form) = try await postedForm(request, context, role: .owner)
            var data = try await settingsData(viewer: session.staff.id)
            do {
                guard let masterKey = configuration.masterKey else {
                    throw AdminError.badRequest("BOOGYMAN_MASTER_KEY is not set, so the Kisi API key cannot be stored sealed. Set it and restart BooGYMan.")
                }
                guard let apiKey = form.text("api_key") else { throw FieldErrors(field: "api_key", "paste the Kisi API key") }
                let baseURLText = form.text("base_url") ?? KisiSettings.defaultBaseURL
                guard let baseURL = URL(string: baseURLText), baseURL.scheme == "https" || baseURL.scheme == "http" else {
                    throw FieldErrors(field: "base_url", "must be an http(s) address")
                }
                let mode = KisiUserCreationMode(rawValue: form.text("user_creation") ?? "managed") ?? .managed
                // BooGYMan's public address (for Kisi's webhooks) survives a key change unless replaced here.
                let previous = try? await repository.kisiSettings(masterKey: masterKey)
                let instanceURL = form.text("instance_url") ?? previous?.instanceURL
                if let instanceURL, URL(string: instanceURL).map({ $0.scheme == "https" || $0.scheme == "http" }) != true {
                    throw FieldErrors(field: "instance_url", "must be an http(s) address")
                }
                let outcome: KisiConnectionOutcome
                do {
                    outcome = try await KisiConnector.connect(
                        KisiConnector.ConnectRequest(apiKey: apiKey, baseURL: baseURLText, instanceURL: instanceURL, userCreationMode: mode),
                        repository: repository, masterKey: masterKey, logger: context.logger, sharedPacing: configuration.sharesKisiPacing)
                } catch let problem as KisiProblem {
                    throw FieldErrors(field: "api_key", "Kisi did not accept it: \(problem.plainWords)")
                }
                context.logger.notice("Kisi connected from the admin UI", metadata: ["organization": "\(outcome.organization.id)", "staff_id": "\(session.staff.id)"])
                // Show what BooGYMan can now see in Kisi (the organization, its places and its locks) and
                // what the new key may do, as found out while connecting: the running sync may still hold
                // the previous key for a few seconds.
                var connected = try await settingsData(viewer: session.staff.id)
                connected["test"] = try await kisiOverview(rights: outcome.rights)
                connected["notice"] = Self.notices["connected"]
                return try page("settings", request, context, session: session, active: "settings", connected)
            } catch let errors as FieldErrors {
                data["kisiErrors"] = Self.errorData(errors)
                data["kisiForm"] = [
                    "base_url": form["base_url"] ?? "", "instance_url": form["instance_url"] ?? "",
                    "invitations": form["user_creation"] == "invitations",
                ] as [String: Any]
                return try page("settings", request, context, session: session, active: "settings", data, status: .unprocessableContent)
            }
        }
        admin.post("settings/kisi/test") { request, context in
            let (session, _) = try await postedForm(request, context, role: .owner)
            var data = try await settingsData(viewer: session.staff.id)
            data["test"] = try await kisiOverview()
            return try page("settings", request, context, session: session, active: "settings", data)
        }
        admin.get("settings/kisi/disconnect") { request, context in
            let session = try require(request, context, role: .owner)
            guard control.isConnected else { return Self.redirect("/admin/settings") }
            return try page("disconnect", request, context, session: session, active: "settings", try await disconnectPreview())
        }
        admin.post("settings/kisi/disconnect") { request, context in
            let (session, form) = try await postedForm(request, context, role: .owner)
            switch form["mode"] {
            case "revoke_all":
                guard control.isConnected else { throw AdminError.badRequest("Kisi is not connected.") }
                let who = "\(session.staff.name) <\(session.staff.email.value)> at \(Self.readable(now()))"
                try await control.requestDisconnectRevokingAccess(requestedBy: who)
                context.logger.notice("Kisi disconnect with revocation requested", metadata: ["staff_id": "\(session.staff.id)"])
                return Self.redirect("/admin/settings?done=disconnecting")
            case "leave", nil:
                try await control.disconnectLeavingAccess()
                context.logger.notice("Kisi disconnected, access left as it is", metadata: ["staff_id": "\(session.staff.id)"])
                return Self.redirect("/admin/settings?done=disconnected")
            default:
                throw AdminError.badRequest("Choose how to disconnect: leave access, or revoke all managed access.")
            }
        }
        admin.post("settings/staff") { request, context in
            let (session, form) = try await postedForm(request, context, role: .owner)
            do {
                let password = form["password"] ?? ""
                if let problem = StaffPasswords.problem(with: password, email: form["email"]) { throw FieldErrors(field: "password", problem) }
                guard let role = StaffRole(rawValue: form["role"] ?? "") else { throw FieldErrors(field: "role", "choose a role") }
                _ = try await repository.createStaff(
                    email: form["email"] ?? "", name: form["name"] ?? "", role: role, passwordHash: StaffPasswords.hash(password))
                return Self.redirect("/admin/settings?done=staff_created")
            } catch let errors as FieldErrors {
                var data = try await settingsData(viewer: session.staff.id)
                data["staffErrors"] = Self.errorData(errors)
                data["staffForm"] = ["email": form["email"] ?? "", "name": form["name"] ?? ""]
                return try page("settings", request, context, session: session, active: "settings", data, status: .unprocessableContent)
            }
        }

        admin.post("locks/:lock/unlock") { request, context in
            let (session, _) = try await postedForm(request, context, role: .manager)
            guard let lockID = context.parameters.get("lock").flatMap(Int.init) else { throw AdminError.notFound }
            guard control.isConnected || configuration.masterKey != nil else { throw AdminError.badRequest("Kisi is not connected.") }
            do {
                _ = try await control.unlock(SyncCommand.UnlockRequest(
                    lockID: lockID, actor: "staff:\(session.staff.email.value)",
                    reason: "\(session.staff.name) unlocked the door from the admin UI"))
            } catch let problem as KisiProblem {
                throw AdminError.badRequest("The door did not unlock: \(problem.plainWords)")
            }
            return Self.redirect("/admin/clubs?done=unlocked")
        }
    }

    func settingsData(viewer: UUID? = nil) async throws -> [String: Any] {
        let tokens = try await tokenRows()
        var data: [String: Any] = [
            "hasMasterKey": configuration.masterKey != nil,
            "staffAccounts": try await staffRows(viewer: viewer),
            "apiTokens": tokens,
            "hasAPITokens": !tokens.isEmpty,
            "roles": StaffRole.allCases.map { ["value": $0.rawValue, "title": $0.title] },
            "syncRunning": control.isConnected,
        ]
        if let pending = try await repository.syncState.get(.disconnectRequested) { data["disconnectPending"] = pending }
        if let outcome = try await repository.syncState.get(.disconnectOutcome) { data["disconnectOutcome"] = outcome }
        if let masterKey = configuration.masterKey, let settings = try await repository.kisiSettings(masterKey: masterKey) {
            data["kisi"] = [
                "organizationID": settings.organizationID.map(String.init) ?? "?", "baseURL": settings.baseURL,
                "mode": settings.userCreationMode.rawValue,
            ]
        }
        return data
    }

    /// Who would lose door access if the owner disconnected with "revoke all managed access": the
    /// sync's own plan for it, read from Kisi.
    func disconnectPreview() async throws -> [String: Any] {
        let removals: [SyncAction]
        do {
            removals = try await control.managedAccessRevocations()
        } catch {
            return ["problem": Self.plainWords(error)]
        }
        let layout = try await repository.layout()
        let links = try await repository.kisiLinks()
        let planOfGroup = Dictionary(links.groups.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        var people = Set<String>()
        var rows: [[String: Any]] = []
        let shown = 50
        for action in removals {
            guard case let .removeGrant(_, userID, groupID, _) = action.kind else { continue }
            people.insert(action.memberID.map { "m" + $0.uuidString } ?? "k\(userID)")
            guard rows.count < shown else { continue }
            var who = "Kisi user \(userID)"
            if let memberID = action.memberID, let member = try? await repository.member(memberID) {
                who = "\(member.fullName) (\(member.email.value))"
            }
            let group = (action.planID ?? planOfGroup[groupID]?.planID).flatMap { layout.plans[$0]?.name } ?? "group \(groupID)"
            rows.append(["who": who, "group": group])
        }
        var data: [String: Any] = [
            "grantCount": removals.count, "oneGrant": removals.count == 1,
            "peopleCount": people.count, "onePerson": people.count == 1,
            "people": rows, "hasPeople": !rows.isEmpty,
        ]
        if removals.count > rows.count { data["more"] = removals.count - rows.count }
        return data
    }

    /// The organization, places and locks as Kisi reports them and what the key may do (`rights`, else
    /// found out now), or the problem in plain words.
    func kisiOverview(rights known: KisiKeyRights? = nil) async throws -> [String: Any] {
        do {
            let organization = try await control.organization()
            let places = try await control.places()
            let locks = try await control.locks()
            let keyRights: KisiKeyRights
            if let known { keyRights = known } else { keyRights = try await control.keyRights() }
            return [
                "organization": organization.name, "organizationID": organization.id,
                "keyRights": keyRights.lines,
                "places": places.map { ["id": $0.id, "name": $0.name] },
                "locks": locks.map { ["id": $0.id, "name": $0.name, "place": $0.placeName ?? ""] },
                "checks": try await healthChecks(rights: keyRights, places: places, locks: locks),
            ]
        } catch {
            return ["problem": Self.plainWords(error)]
        }
    }

    /// What the sync needs from Kisi, checked one by one, each with what to do when it fails. The key
    /// itself was accepted by the time this runs (the organization was read with it).
    func healthChecks(rights: KisiKeyRights, places: [KisiPlaceSummary], locks: [KisiLockSummary]) async throws -> [[String: Any]] {
        func check(_ label: String, _ ok: Bool, _ detail: String) -> [String: Any] { ["label": label, "ok": ok, "detail": detail] }
        let placeIDs = Set(places.map(\.id))
        let lockIDs = Set(locks.map(\.id))
        var checks = [check("API key", true, "Kisi accepts it.")]
        let layout = try await repository.layout()
        checks.append(Self.keyRightsCheck(rights, sites: Self.doorSites(layout, places: places, locks: locks)))
        // Only a key that may register the webhook may list integrations; others are not asked.
        var integrations: [KisiIntegrationSummary]?
        if rights.canRegisterWebhook || rights.reach == .unknown {
            integrations = try? await control.integrations()
        }
        let missingPlaces = layout.clubs.values.compactMap { club in club.kisiPlaceID.flatMap { placeIDs.contains($0) ? nil : "\(club.name): place \($0)" } }
        let configuredLocks = layout.allDoors.map(\.lockID)
        let missingLocks = configuredLocks.filter { !lockIDs.contains($0) }
        checks.append(check(
            "Places of the clubs exist", missingPlaces.isEmpty,
            missingPlaces.isEmpty ? "Every club's Kisi place is in this organization." : "Not in Kisi: \(missingPlaces.sorted().joined(separator: ", "))."))
        checks.append(check(
            "Doors' locks exist", missingLocks.isEmpty,
            missingLocks.isEmpty ? "All \(configuredLocks.count) locks of the clubs and studios are in this organization."
                : "Not in Kisi: lock \(missingLocks.sorted().map(String.init).joined(separator: ", ")). Fix the club or studio."))
        let registered = try await repository.syncState.get(.kisiWebhookIntegrationID)
        var instance: String?
        if let masterKey = configuration.masterKey { instance = try await repository.kisiSettings(masterKey: masterKey)?.instanceURL }
        if !rights.canRegisterWebhook, rights.reach != .unknown {
            let seconds = KisiKeyRights.eventSetPollInterval.components.seconds
            checks.append(check("Webhook", false, "This key cannot register a webhook: door activity is read from Kisi's event sets every \(seconds) seconds instead, and changes made in Kisi's dashboard are repaired every 10 minutes."))
        } else if instance == nil {
            checks.append(check("Webhook", false, "No public address is set, so Kisi cannot tell BooGYMan about changes made in its dashboard; they are repaired every 10 minutes instead."))
        } else if let instance, let registered, integrations?.contains(where: { $0.id == registered }) == true {
            checks.append(check("Webhook", true, "Kisi sends its events to \(instance)/webhooks/kisi, signed."))
        } else {
            checks.append(check("Webhook", false, "Not registered with Kisi yet: BooGYMan registers it within seconds of connecting (and at every start)."))
        }
        return checks
    }

    /// A club or studio and the Kisi places its doors are in, for the key-rights check.
    struct DoorSite {
        /// "club Cluj Centru", "studio Climbing wall (Cluj Centru)".
        var label: String
        /// Kisi place ID → name: the club's place, and the places of the locks Kisi lists.
        var places: [Int: String]
    }

    /// Every club and studio with the Kisi places of its doors, clubs first, by name.
    static func doorSites(_ layout: GymLayout, places: [KisiPlaceSummary], locks: [KisiLockSummary]) -> [DoorSite] {
        let placeNames = Dictionary(places.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let lockPlaces = Dictionary(locks.compactMap { lock in lock.placeID.map { (lock.id, $0) } }, uniquingKeysWith: { first, _ in first })
        func sitePlaces(_ placeID: Int?, _ lockIDs: [Int]) -> [Int: String] {
            var ids = Set(lockIDs.compactMap { lockPlaces[$0] })
            if let placeID { ids.insert(placeID) }
            return Dictionary(uniqueKeysWithValues: ids.map { ($0, placeNames[$0] ?? "place \($0)") })
        }
        let clubs = layout.clubs.values.sorted { $0.name < $1.name }
        return clubs.map { club in DoorSite(label: "club \(club.name)", places: sitePlaces(club.kisiPlaceID, club.kisiLockIDs)) }
            + clubs.flatMap { club in
                layout.studios.values.filter { $0.clubID == club.id }.sorted { $0.name < $1.name }.map { studio in
                    // A studio's doors are inside its club, whose place its entrance is in.
                    DoorSite(label: "studio \(studio.name) (\(club.name))", places: sitePlaces(club.kisiPlaceID, studio.kisiLockIDs))
                }
            }
    }

    /// The key's rights as the sync needs them: organization-wide (administrator or access manager),
    /// some places (place administrator, naming them and any club or studio outside them, with what to do),
    /// or not enough.
    static func keyRightsCheck(_ rights: KisiKeyRights, sites: [DoorSite]) -> [String: Any] {
        let label = "Key rights"
        func check(_ ok: Bool, _ detail: String) -> [String: Any] { ["label": label, "ok": ok, "detail": detail] }
        switch rights.reach {
        case .wholeOrganization:
            // Kisi's role names say their scope already ("Organization access manager").
            let role = rights.organizationRoleNames.isEmpty ? "an organization-wide role" : "Kisi's \(rights.organizationRoleNames.joined(separator: " and ")) role"
            return check(true, "The key's user holds \(role): BooGYMan may manage Kisi users, groups, their doors and access rights everywhere.")
        case .places(let places):
            func list(_ items: [String]) -> String {
                items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items[items.count - 1]
            }
            let names = list(places.map(\.name))
            let administered = Set(places.map(\.id))
            let outside = sites.filter { !Set($0.places.keys).isSubset(of: administered) }
            guard outside.isEmpty else {
                // The places to ask for, by name: those of the sites outside that the key does not administer.
                var missing: [Int: String] = [:]
                for site in outside { for (id, name) in site.places where !administered.contains(id) { missing[id] = name } }
                let missingNames = list(missing.sorted { $0.value < $1.value }.map(\.value))
                return check(false, "The key's user administers only \(names): BooGYMan cannot keep door access at \(list(outside.map(\.label))), so members are not let in there through BooGYMan (the rest of the sync goes on). Ask the Kisi organization's administrator to make the key's user place administrator of \(missingNames) too, or connect an organization administrator's or access manager's key.")
            }
            return check(true, "The key's user is the place administrator of \(names): BooGYMan manages place-scoped groups there and no doors elsewhere.")
        case .none:
            let missing = rights.missingSyncPermissions.joined(separator: ", ")
            let why = missing.isEmpty ? "its rights to groups, their doors and access rights meet in no one place" : "it lacks \(missing)"
            return check(false, "The key's user may not manage door access (\(why)): make it an organization administrator, an access manager or the place administrator of the gym's places.")
        case .unknown:
            return check(false, "BooGYMan could not tell what this key may do; the sync finds out when Kisi refuses a change, and says which right is missing.")
        }
    }

    /// Kisi's failures as front-of-house words.
    static func plainWords(_ error: any Error) -> String {
        KisiProblem(error).plainWords
    }
}
