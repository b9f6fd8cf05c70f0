// Desired and observed state, actions, the planner, the brake and event triage are part of what this
// module offers: whoever imports AccessSync sees them without importing AccessPlanning too.
@_exported import AccessPlanning

/// The store has a row type of the same name (`GymStore.HeldReview`); inside this module the name means
/// the planner's review, which is what the sync passes around.
public typealias HeldReview = AccessPlanning.HeldReview
