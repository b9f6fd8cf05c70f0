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
                if let problem = StaffPasswords.problem(with: new) { errors.add("new_password", problem) }
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
        try await repository.staffAccounts().map { account in
            [
                "id": account.id.uuidString, "name": account.name, "email": account.email.value, "role": account.role.title,
                "self": account.id == viewer, "disabled": account.isDisabled,
                "roleOptions": StaffRole.allCases.map { ["value": $0.rawValue, "title": $0.title, "selected": $0 == account.role] },
            ] as [String: Any]
        }
    }
}
