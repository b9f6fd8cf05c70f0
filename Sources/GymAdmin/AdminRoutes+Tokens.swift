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
        try await repository.apiTokens().map { token in
            [
                "id": token.id.uuidString, "name": token.name,
                "createdAt": token.createdAt.map(Self.readable) ?? "unknown",
                "lastUsedAt": token.lastUsedAt.map(Self.readable) ?? "never",
            ]
        }
    }
}
