import Foundation

/// The audit log's action names in the words staff use: "door access granted", not `createGrant`.
enum KisiWriteWords {
    static let words: [String: String] = [
        "createGroup": "Kisi group created for a plan",
        "updateGroup": "plan's Kisi group renamed",
        "deleteGroup": "plan's Kisi group deleted",
        "linkGroup": "plan linked to its Kisi group",
        "addGroupLock": "door added to a plan",
        "removeGroupLock": "door removed from a plan",
        "createUser": "Kisi user created",
        "inviteUser": "invited to Kisi",
        "linkUser": "linked to an existing Kisi user",
        "updateUser": "Kisi user's name or e-mail updated",
        "createGrant": "door access granted",
        "updateGrantValidity": "door access dates changed",
        "removeGrant": "door access removed",
        "holdForReview": "held for a staff decision",
        "resolveReview": "staff decision applied",
        "block_member": "blocked by staff",
        "unblock_member": "unblocked by staff",
        "unlock_lock": "door unlocked by staff",
        "resend_invite": "Kisi invitation sent again",
        "staff_link_user": "Kisi user linked by staff",
        "staff_unlink_user": "Kisi user unlinked by staff",
        "create_member_from_kisi_user": "member created from a Kisi user",
        "retry": "retried",
    ]

    /// The words for an action, the plan named where there is one ("door access granted · Yoga pass");
    /// an action without words yet reads as its name with spaces.
    static func describe(_ action: String, plan: String? = nil) -> String {
        let text = words[action] ?? action.replacingOccurrences(of: "_", with: " ")
        guard let plan, !plan.isEmpty else { return text }
        return "\(text) · \(plan)"
    }
}
