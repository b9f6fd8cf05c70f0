import Foundation
import GymCore
import GymStore
import Hummingbird

/// Staff accounts: owners change roles and disable or re-enable accounts; everyone changes their
/// own password.
extension AdminRoutes {
    func addStaffRoutes(to admin: RouterGroup<AdminContext>) {
        admin.post("settings/staff/:id/disable") { request, context in
            try await toggle(request, context, disabled: true)
        }
        admin.post("settings/staff/:id/enable") { request, context in
            try await toggle(request, context, disabled: false)
        }
        // Forgets the failed sign-ins counted against the account, e.g. once the owner has seen
        // where they came from; the per-address limits stay, so the attacker is still slowed.
        admin.post("settings/staff/:id/unlock") { request, context in
            let (session, _) = try await postedForm(request, context, role: .owner)
            let id = try staffID(context)
            guard let account = try await repository.staffAccounts().first(where: { $0.id == id }) else { throw AdminError.notFound }
            try await repository.clearStaffSignInFailures(email: account.email.value)
            context.logger.notice("staff sign-in lock lifted", metadata: ["staff_id": "\(id)", "by": "\(session.staff.id)"])
            return Self.redirect("/admin/settings?done=staff_unlocked")
        }
        admin.post("settings/staff/:id/role") { request, context in
            let (session, form) = try await postedForm(request, context, role: .owner)
            let id = try staffID(context)
            guard let role = StaffRole(rawValue: form["role"] ?? "") else { throw AdminError.badRequest("Choose a role.") }
            guard id != session.staff.id else { throw AdminError.badRequest("Another owner must change your role.") }
            let account = try await repository.setStaffRole(id: id, role: role)
            context.logger.notice("staff role changed", metadata: ["staff_id": "\(id)", "role": "\(role.rawValue)", "by": "\(session.staff.id)"])
            _ = account
            return Self.redirect("/admin/settings?done=staff_role")
        }

        admin.get("account") { request, context in
            let session = try require(request, context)
            return try page("account", request, context, session: session, active: "account", [:])
        }
        admin.post("account/password") { request, context in
            let (session, form) = try await postedForm(request, context)
            do {
                var errors = FieldErrors()
                let current = form["current_password"] ?? ""
                let new = form["new_password"] ?? ""
                let credentials = try await repository.staffCredentials(email: session.staff.email.value)
                if credentials.map({ StaffPasswords.verify(current, hash: $0.passwordHash) }) != true {
                    errors.add("current_password", "is not your current password")
                }
                if let problem = StaffPasswords.problem(with: new, email: session.staff.email.value) { errors.add("new_password", problem) }
                if new != (form["repeat_password"] ?? "") { errors.add("repeat_password", "does not match the new password") }
                try errors.throwIfAny()
                try await repository.changeStaffPassword(
                    id: session.staff.id, passwordHash: StaffPasswords.hash(new), keepingSession: session.id)
                context.logger.notice("staff password changed; other sessions ended", metadata: ["staff_id": "\(session.staff.id)"])
                return Self.redirect("/admin/account?done=password_changed")
            } catch let errors as FieldErrors {
                // Passwords are never echoed back into the form.
                return try page("account", request, context, session: session, active: "account",
                                ["errors": Self.errorData(errors)], status: .unprocessableContent)
            }
        }
    }

    func staffID(_ context: AdminContext) throws -> UUID {
        guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw AdminError.notFound }
        return id
    }

    func toggle(_ request: Request, _ context: AdminContext, disabled: Bool) async throws -> Response {
        let (session, _) = try await postedForm(request, context, role: .owner)
        let id = try staffID(context)
        _ = try await repository.setStaffDisabled(id: id, disabled: disabled, actingStaffID: session.staff.id, now: now())
        context.logger.notice(disabled ? "staff account disabled" : "staff account enabled", metadata: ["staff_id": "\(id)", "by": "\(session.staff.id)"])
        return Self.redirect("/admin/settings?done=" + (disabled ? "staff_disabled" : "staff_enabled"))
    }

    /// The staff table of the settings page; `viewer` (the signed-in owner) gets no buttons on their own row.
    func staffRows(viewer: UUID?) async throws -> [[String: Any]] {
        let instant = now()
        var rows: [[String: Any]] = []
        for account in try await repository.staffAccounts() {
            var row: [String: Any] = [
                "id": account.id.uuidString, "name": account.name, "email": account.email.value, "role": account.role.title,
                "self": account.id == viewer, "disabled": account.isDisabled,
                "roleOptions": StaffRole.allCases.map { ["value": $0.rawValue, "title": $0.title, "selected": $0 == account.role] },
            ]
            if let lock = try await repository.staffSignInLock(email: account.email.value, limits: configuration.signInLimits, now: instant) {
                row["lock"] = Self.describe(lock)
            }
            rows.append(row)
        }
        return rows
    }

    /// "locked until 14:05 UTC after 7 failed sign-ins from 203.0.113.9, 198.51.100.4", so the
    /// owner can tell a forgetful colleague from an attack.
    static func describe(_ lock: StaffSignInLock) -> String {
        let shown = lock.addresses.prefix(5).joined(separator: ", ")
        let more = lock.addresses.count > 5 ? " and \(lock.addresses.count - 5) more" : ""
        let from = lock.addresses.isEmpty ? "" : " from \(shown)\(more)"
        let until = lock.until.formatted(Date.VerbatimFormatStyle(
            format: "\(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits)", timeZone: .gmt, calendar: Calendar(identifier: .gregorian)))
        let failures = "\(lock.failures) failed sign-in\(lock.failures == 1 ? "" : "s")"
        return lock.everywhere
            ? "locked until \(until) UTC after \(failures)\(from)"
            : "sign-ins from \(shown)\(more) refused until \(until) UTC after \(failures)"
    }
}
