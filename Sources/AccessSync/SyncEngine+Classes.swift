import AccessPlanning
import Foundation
import GymCore
import GymStore

extension SyncEngine {
    /// `desired` with booked classes applied (``ClassWindowGrants``): studios opened only for booked
    /// classes leave their plans' groups, their two class groups are wanted, and the next two windows of
    /// `memberIDs` (every member with coming bookings when nil) are grants in them. Costs nothing while no
    /// plan opens a studio only for booked classes.
    func applyingClassWindows(
        to desired: DesiredState, layout: GymLayout, memberIDs: Set<UUID>?, at instant: Date
    ) async throws -> DesiredState {
        let input = try await repository.classWindowInput(memberIDs: memberIDs, at: instant)
        guard input.rules.contains(where: { $0.doorMode == .bookedClasses }) else { return desired }
        return ClassWindowGrants.applying(to: desired, layout: layout, rules: input.rules, windows: input.windows, ordinals: input.ordinals)
    }
}
