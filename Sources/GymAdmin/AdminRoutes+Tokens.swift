import Foundation
import GymStore
import Hummingbird

/// API tokens on the settings page: owners see each token's name, creation and last use, and revoke
/// one that leaked or whose device is gone. Creating stays on the command line, which can show the
/// secret once without it passing through a web page.
extension AdminRoutes {
    func addTokenRoutes(to admin: RouterGroup<AdminContext>) {
        admin.post("settings/tokens/:id/revoke") { request, context in
            let (session, _) = try await postedForm(request, context, role: .owner)
            guard let id = context.parameters.get("id").flatMap(UUID.init(uuidString:)) else { throw AdminError.notFound }
            try await repository.revokeAPIToken(id, now: now())
            context.logger.notice("API token revoked", metadata: ["token_id": "\(id)", "by": "\(session.staff.id)"])
            return Self.redirect("/admin/settings?done=token_revoked#tokens")
        }
    }

    /// The live tokens for the settings page, by name (the way owners look for one).
    func tokenRows() async throws -> [[String: Any]] {
        // In the gym's time like every other page; UTC on hover.
        let time = ClubTime.gym(try await repository.layout())
        let instant = now()
        return try await repository.apiTokens().map { token in
            var row: [String: Any] = ["id": token.id.uuidString, "name": token.name]
            if let created = token.createdAt { row["createdAt"] = time.value(created, now: instant) }
            if let used = token.lastUsedAt { row["lastUsedAt"] = time.value(used, now: instant) }
            return row
        }
    }
}
