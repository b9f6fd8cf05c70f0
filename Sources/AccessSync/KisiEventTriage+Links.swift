import Foundation
import GymStore

extension KisiEventTriage {
    /// Triage against the links as the store keeps them.
    public static func triage(
        _ event: KisiWebhookEvent, selfUserID: Int?, links: KisiLinks, memberOfAssignment: (Int) async throws -> UUID?
    ) async rethrows -> KisiEventTriage {
        try await triage(
            event, selfUserID: selfUserID, userLinks: links.users, groupLinks: links.groups,
            memberOfAssignment: memberOfAssignment)
    }
}
