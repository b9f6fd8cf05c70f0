import AccessSync
import Foundation
import GymCore
import GymStore
import GymWeb
import Hummingbird
import Logging

/// The staff web UI under `/admin`: server-rendered pages sharing the JSON API's router.
public struct AdminRoutes: Sendable {
    static let sessionCookie = "bgm_session"
    /// Double-submit token of the sign-in form, which has no session yet to bind a CSRF token to.
    static let loginCookie = "bgm_login"
    static let cookiePath = "/admin"

    let repository: GymRepository
    /// The one door to Kisi: reads for pages, and writes handed to the replica leading the sync.
    let control: any SyncControl
    let configuration: AdminConfiguration
    let views: AdminViews
    let now: @Sendable () -> Date

    public init(
        repository: GymRepository, control: any SyncControl, configuration: AdminConfiguration = AdminConfiguration(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.control = control
        self.configuration = configuration
        self.views = AdminViews.bundled
        self.now = now
    }

    /// Adds the admin pages to the server's router, next to the JSON API.
    public func register(on router: Router<APIContext>) {
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/admin"]) }
        let admin = router.group("admin", context: AdminContext.self)
            .add(middleware: AdminErrorMiddleware(views: views))
            .add(middleware: ClientAddressMiddleware(proxies: configuration.trustedProxies))
            .add(middleware: StaffSessionMiddleware(repository: repository, now: now))
        admin.get("assets/:name") { _, context in try asset(context.parameters.get("name") ?? "") }
        addSessionRoutes(to: admin)
        addDashboardRoutes(to: admin)
        addMemberRoutes(to: admin)
        addSubscriptionRoutes(to: admin)
        addPlanRoutes(to: admin)
        addAuditRoutes(to: admin)
        addKisiRoutes(to: admin)
        addClubRoutes(to: admin)
        addActivityRoutes(to: admin)
        addStaffRoutes(to: admin)
        addTokenRoutes(to: admin)
        addAdoptionRoutes(to: admin)
        addAttendanceRoutes(to: admin)
        addClassRoutes(to: admin)
    }

    func asset(_ name: String) throws -> Response {
        guard let asset = views.assets[name] else { throw AdminError.notFound }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: asset.body)))
    }

    // MARK: Access control

    /// The session of a staff member whose role is at least `role`; otherwise sign-in or 403.
    func require(_ request: Request, _ context: AdminContext, role: StaffRole = .frontDesk) throws -> StaffSession {
        guard let session = context.session else {
            throw AdminError.signInRequired(returnTo: request.method == .get ? request.uri.path : "/admin")
        }
        guard session.staff.role >= role else { throw AdminError.forbidden }
        return session
    }

    /// A posted form from a staff member with at least `role`, whose CSRF token matches the session's.
    func postedForm(_ request: Request, _ context: AdminContext, role: StaffRole = .frontDesk) async throws -> (StaffSession, FormData) {
        let session = try require(request, context, role: role)
        let form = try await FormData.read(request)
        guard CSRF.matches(form[CSRF.fieldName], context.csrfToken) else { throw AdminError.csrfRejected }
        return (session, form)
    }

    /// What every page's layout needs: who is signed in, which menu entries to show, the CSRF token.
    static func layoutData(session: StaffSession, csrf: String?, active: String) -> [String: Any] {
        [
            "signedIn": true,
            "staff": ["name": session.staff.name, "email": session.staff.email.value, "role": session.staff.role.title],
            "csrf": csrf ?? "",
            "isManager": session.staff.role >= .manager,
            "isOwner": session.staff.role >= .owner,
            "nav_" + active: true,
        ]
    }

    func page(
        _ template: String, _ request: Request, _ context: AdminContext, session: StaffSession, active: String,
        _ data: [String: Any], status: HTTPResponse.Status = .ok
    ) throws -> Response {
        var all = Self.layoutData(session: session, csrf: context.csrfToken, active: active)
        all.merge(data) { _, new in new }
        if let done = request.uri.queryParameters.get("done"), let notice = Self.notices[done] {
            all["notice"] = notice
        }
        return try views.page(template, all, status: status)
    }

    /// Confirmations after a redirect, by code, so the query string cannot inject arbitrary text.
    static let notices: [String: String] = [
        "created": "Member created.",
        "saved": "Changes saved.",
        "sold": "Subscription sold. Kisi follows within seconds.",
        "frozen": "Subscription frozen. Kisi follows within seconds.",
        "unfrozen": "Freeze ended. Kisi follows within seconds.",
        "cancelled": "Subscription cancelled. Kisi follows within seconds.",
        "resynced": "The member was synced with Kisi.",
        "resync_later": "Resync requested; the sync is busy and carries it to Kisi within seconds.",
        "blocked": "Member blocked. Kisi access revoked.",
        "blocked_later": "Member blocked; Kisi follows within seconds.",
        "unblocked": "Member unblocked. Kisi follows the subscriptions again.",
        "unblocked_later": "Member unblocked; Kisi follows within seconds.",
        "approved": "Held revocations approved; the next sync run carries them out.",
        "rejected": "Held revocations rejected: nobody loses access. They stay listed until the data that caused them is fixed.",
        "unlocked": "Kisi unlocked the door.",
        "connected": "Kisi is connected. The sync starts with this organization within seconds.",
        "disconnected": "Kisi was disconnected; the sync stops within seconds. Door access in Kisi was left as it is.",
        "disconnecting": "Disconnecting: the sync is removing every door grant BooGYMan made. This page shows the outcome when it is done.",
        "staff_created": "Staff account created.",
        "staff_role": "Role changed. It applies from the staff member's next page.",
        "staff_disabled": "Account disabled and signed out everywhere.",
        "staff_enabled": "Account enabled: it can sign in again.",
        "staff_unlocked": "Failed sign-ins forgotten: the account can sign in again from every address.",
        "token_revoked": "API token revoked: requests with it are refused from now on.",
        "password_changed": "Password changed. Your other sessions were signed out.",
        "kisi_ok": "Kisi answered: the connection works.",
        "decided": "Decision saved. The sync re-checks the members concerned within seconds and then closes the review.",
        "invite_resent": "Kisi sent the invitation again.",
        "invite_queued": "The invitation is queued: the sync sends it as soon as its current step ends.",
    ]

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func sessionCookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Self.sessionCookie, value: value, maxAge: maxAge, path: Self.cookiePath,
            secure: configuration.secureCookies, httpOnly: true, sameSite: .lax)
    }

    // MARK: Sign-in and sign-out

    func addSessionRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get("login") { request, context in
            if context.session != nil { return Self.redirect("/admin") }
            return try loginPage(next: request.uri.queryParameters.get("next"), email: "", error: nil, status: .ok)
        }
        admin.post("login") { request, context in
            try await signIn(request, context)
        }
        admin.post("logout") { request, context in
            _ = try await postedForm(request, context)
            if let secret = context.sessionSecret { try await repository.deleteStaffSession(secret: secret) }
            var response = Self.redirect("/admin/login")
            response.setCookie(sessionCookie(value: "", maxAge: 0))
            return response
        }
    }

    func loginPage(next: String?, email: String, error: String?, status: HTTPResponse.Status) throws -> Response {
        let token = CSRF.randomToken()
        var data: [String: Any] = ["loginToken": token, "email": email, "next": Self.safeReturnPath(next) ?? ""]
        if let error { data["error"] = error }
        var response = try views.page("login", data, status: status)
        response.setCookie(Cookie(
            name: Self.loginCookie, value: token, maxAge: 3600, path: Self.cookiePath,
            secure: configuration.secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    /// Only local admin paths are followed after sign-in, so the form cannot redirect elsewhere.
    static func safeReturnPath(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/admin"), !path.hasPrefix("//"), !path.contains("\\"), !path.hasPrefix("/admin/login") else { return nil }
        return path
    }

    func signIn(_ request: Request, _ context: AdminContext) async throws -> Response {
        let form = try await FormData.read(request)
        guard CSRF.matches(form[CSRF.fieldName], request.cookies[Self.loginCookie]?.value) else { throw AdminError.csrfRejected }
        let email = form.text("email") ?? ""
        let password = form["password"] ?? ""
        let next = form.text("next")
        let instant = now()
        let limits = configuration.signInLimits
        let client = context.clientAddress
        // Counted before the password is checked, so parallel guesses cannot all slip under the limit.
        if case .refused(let scope, let until) = try await repository.admitStaffSignIn(email: email, clientAddress: client, limits: limits, now: instant) {
            let minutes = max(1, Int((until.timeIntervalSince(instant) / 60).rounded(.up)))
            context.logger.notice("sign-in throttled", metadata: ["client": "\(client)", "scope": "\(scope.rawValue)"])
            let reason = switch scope {
            case .accountAndAddress: "Too many failed sign-ins for this e-mail from your address."
            case .address: "Too many failed sign-ins from your address."
            case .account: "Too many failed sign-ins for this e-mail. An owner can see where they came from and lift the lock."
            }
            var response = try loginPage(
                next: next, email: email, error: "\(reason) Try again in \(minutes) minute\(minutes == 1 ? "" : "s").", status: .tooManyRequests)
            response.headers[.retryAfter] = String(minutes * 60)
            return response
        }
        let credentials = try await repository.staffCredentials(email: email)
        // Always run bcrypt, so an unknown e-mail answers as slowly as a wrong password.
        let matches = StaffPasswords.verify(password, hash: credentials?.passwordHash ?? StaffPasswords.decoyHash)
        guard let credentials, matches else {
            try await repository.finishStaffSignIn(email: email, clientAddress: client, succeeded: false, limits: limits, now: instant)
            context.logger.info("sign-in failed", metadata: ["client": "\(client)"])
            return try loginPage(next: next, email: email, error: "The e-mail or password is wrong.", status: .unauthorized)
        }
        try await repository.finishStaffSignIn(email: email, clientAddress: client, succeeded: true, limits: limits, now: instant)
        guard !credentials.account.isDisabled else {
            // Said only after the right password, so it reveals nothing to someone guessing.
            context.logger.info("sign-in refused: account disabled", metadata: ["staff_id": "\(credentials.account.id)"])
            return try loginPage(next: next, email: email, error: "This account is disabled. Ask an owner to enable it.", status: .forbidden)
        }
        try await repository.deleteExpiredStaffSessions(now: instant)
        let (_, secret) = try await repository.createStaffSession(staffID: credentials.account.id, lifetime: configuration.sessionLifetime, now: instant)
        context.logger.info("staff signed in", metadata: ["staff_id": "\(credentials.account.id)"])
        var response = Self.redirect(Self.safeReturnPath(next) ?? "/admin")
        response.setCookie(sessionCookie(value: secret, maxAge: Int(configuration.sessionLifetime)))
        response.setCookie(Cookie(name: Self.loginCookie, value: "", maxAge: 0, path: Self.cookiePath, secure: configuration.secureCookies, httpOnly: true, sameSite: .lax))
        return response
    }

    // MARK: Dashboard

    func addDashboardRoutes(to admin: RouterGroup<AdminContext>) {
        admin.get { request, context in
            let session = try require(request, context)
            return try page("dashboard", request, context, session: session, active: "dashboard", try await dashboardData())
        }
        admin.post("sync/approve") { request, context in
            _ = try await postedForm(request, context, role: .manager)
            guard control.isConnected else { throw AdminError.badRequest("Kisi is not connected.") }
            _ = try await control.approveHeldRevocations()
            return Self.redirect("/admin?done=approved")
        }
        // Rejecting withdraws any earlier approval, so nothing held is revoked. The brake holds the
        // revocations again on every run for as long as the gym's data asks for them; staff fix the
        // data (say, a plan archived by mistake) and the hold clears by itself.
        admin.post("sync/reject") { request, context in
            let (session, _) = try await postedForm(request, context, role: .manager)
            guard control.isConnected else { throw AdminError.badRequest("Kisi is not connected.") }
            try await control.rejectHeldRevocations()
            context.logger.notice("held revocations rejected", metadata: ["staff_id": "\(session.staff.id)"])
            return Self.redirect("/admin?done=rejected")
        }
    }

    func dashboardData() async throws -> [String: Any] {
        let paused = try await repository.syncState.get(.pausedReason)
        let lastFull = try await repository.syncState.get(.lastFullReconcileAt)
        let held = try await control.heldRevocations()
        let errors = try await repository.kisiWrites(KisiWriteFilter(status: .failed), PageRequest(limit: 10)).items
        let layout = try await repository.layout()
        var data: [String: Any] = [
            "connected": control.isConnected,
            "queueDepth": try await repository.unprocessedAccessChangeCount(),
            "lastFullReconcile": lastFull.map { ClubTime.gym(layout).text($0) } ?? "never",
            "held": held.map { revocation -> [String: Any] in
                ["action": revocation.action, "reason": revocation.reason, "plan": revocation.planID.flatMap { layout.plans[$0]?.name }]
                    .compactMapValues { $0 }
            },
            "hasHeld": !held.isEmpty,
            "errors": errors.map { Self.auditRow($0, time: ClubTime.gym(layout), plans: layout.plans) },
            "hasErrors": !errors.isEmpty,
        ]
        // Questions the sync left to staff about members' Kisi users; the template links them for managers.
        let userReviews = try await openUserReviews().count
        if userReviews > 0 { data["userReviews"] = userReviews }
        if let paused { data["pausedReason"] = paused }
        // Propagation latency (change committed → Kisi confirmed) over the last hour, as the sync publishes it.
        if let summary = try await repository.syncState.get(.propagation), summary.samples > 0 {
            data["latency"] = [
                "p50": Self.seconds(summary.p50Milliseconds), "p95": Self.seconds(summary.p95Milliseconds),
                "samples": summary.samples, "chart": Self.latencyChart(summary),
            ]
        }
        if let history = try await repository.syncState.get(.propagationHistory),
            let sparkline = Self.latencySparkline(history, now: Date())
        {
            data["latencyTrend"] = sparkline
        }
        // Both read Kisi under the page's deadline; side by side, a silent Kisi costs the page one deadline, not two.
        async let doorData = refreshDoorData(layout: layout)
        async let health = doorHealth(layout: layout)
        // The charts and today's figures count the same stored door events, once today's are in.
        let (source, stale) = await doorData
        let attendance = try await attendance(layout: layout)
        data["pictures"] = attendancePictures(attendance)
        data["checkIns"] = Self.checkInsToday(attendance, source: source, stale: stale)
        data["doorHealth"] = await health
        data["deferred"] = try await repository.syncState.get(.deferredActions) ?? 0
        if let progress = try await repository.syncState.get(.runProgress) {
            data["progress"] = Self.progressData(progress, now: Date(), time: ClubTime.gym(layout))
        }
        // Work that failed and is retried by itself with backoff: staff see that it is in hand.
        let retry = try await repository.syncState.get(.retry) ?? SyncRetryState()
        if let next = retry.nextAttemptAt {
            let parts = [
                retry.members.isEmpty ? nil : "Kisi work for \(retry.members.count) member\(retry.members.count == 1 ? "" : "s")",
                retry.plans.isEmpty ? nil : "\(retry.plans.count) plan group\(retry.plans.count == 1 ? "" : "s")",
                retry.full == nil ? nil : "a full reconcile",
                retry.changes == nil ? nil : "sending the latest changes to Kisi",
            ].compactMap { $0 }
            let seconds = max(0, Int(next.timeIntervalSinceNow.rounded(.up)))
            data["retrying"] = [
                "what": parts.joined(separator: ", "),
                "attempts": max(retry.maxAttempts, 1), "next": seconds == 0 ? "now" : "in \(seconds) s",
                "lastError": retry.lastError ?? "failed",
            ] as [String: Any]
        }
        if let leader = try await repository.leaseStatus(name: SyncLeadership.defaultLeaseName) {
            data["leader"] = ["replica": leader.lease.holder, "live": leader.live]
        }
        return data
    }

    /// A long run's progress bar: "1,200 of 4,000 Kisi changes · about 10 min left".
    static func progressData(_ progress: SyncRunProgress, now: Date, time: ClubTime = .utc) -> [String: Any] {
        let finished = progress.done + progress.failed
        let percent = progress.planned > 0 ? min(100, finished * 100 / progress.planned) : 100
        let left = finished >= progress.planned ? "finishing" : progress.timeLeft(at: now)
        var data: [String: Any] = [
            "done": finished.formatted(), "planned": progress.planned.formatted(), "percent": percent, "left": left,
            "rate": String(format: "%.1f", progress.writesPerSecond), "finishAt": time.text(progress.estimatedFinishAt, now: now),
            "startedAt": time.text(progress.startedAt, now: now),
        ]
        if progress.failed > 0 { data["failed"] = progress.failed.formatted() }
        return data
    }

    static func seconds(_ milliseconds: Int?) -> String {
        guard let milliseconds else { return "–" }
        return String(format: "%.1f s", Double(milliseconds) / 1000)
    }

    // MARK: Formatting

    static func readableInstant(_ iso: String) -> String {
        guard let date = try? Date(iso, strategy: .iso8601) else { return iso }
        return readable(date)
    }

    static func readable(_ date: Date) -> String {
        date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// One audit entry for a page: its time in the gym's zone and its action in words (the name kept for the filter).
    static func auditRow(_ write: KisiWrite, time: ClubTime, plans: [UUID: Plan], now: Date = Date()) -> [String: Any] {
        var row: [String: Any] = [
            "id": write.id, "at": time.value(write.createdAt, now: now), "action": write.action,
            "words": KisiWriteWords.describe(write.action, plan: write.planID.flatMap { plans[$0]?.name }),
            "actor": write.actor.hasPrefix("staff:") ? String(write.actor.dropFirst("staff:".count)) : write.actor, "reason": write.reason,
            "status": write.status.rawValue, "failed": write.status == .failed,
        ]
        // Mustache shows an empty string as present, so an entry about no Kisi object leaves it out.
        let object = [write.kisiObjectType, write.kisiObjectID.map(String.init)].compactMap { $0 }.joined(separator: " #")
        if !object.isEmpty { row["object"] = object }
        if let memberID = write.memberID { row["memberID"] = memberID.uuidString }
        if let error = write.error { row["error"] = error }
        return row
    }
}
