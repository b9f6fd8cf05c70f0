import Foundation
import GymStore
import KisiAPI

/// Kisi request pacing shared by every replica on one database (PostgreSQL): each request reserves
/// the next send slot of its API key's row in `kisi_rate_slots` and sleeps until that slot. Slots are
/// `(1 s + margin) / limit` apart, so no window of one second sees more than `limit` requests from
/// all replicas together, whichever of them (sync leader or web replica) sends.
public struct DatabaseKisiPacer: KisiSharedPacer {
    public let repository: GymRepository
    /// Computed once; the key itself is not kept.
    let bucketPrefix: String
    /// Added to the one-second window for the spread between send and arrival at Kisi.
    public var margin: Duration
    public var queryDeadline: Duration

    public init(repository: GymRepository, apiKey: String, margin: Duration = .milliseconds(150), queryDeadline: Duration = .seconds(5)) {
        self.repository = repository
        self.bucketPrefix = GymRepository.kisiRateBucket(apiKey: apiKey, scope: "")
        self.margin = margin
        self.queryDeadline = queryDeadline
    }

    public func waitForTurn(scope: String, requestsPerSecond: Int) async throws {
        let interval = (Duration.seconds(1) + margin) / max(1, requestsPerSecond)
        let repository = self.repository
        let bucket = bucketPrefix + scope
        let wait = try await withDeadline(queryDeadline, "reserving a Kisi request slot") {
            try await repository.reserveKisiRateSlot(key: bucket, interval: interval)
        }
        if wait > .zero { try await Task.sleep(for: wait) }
    }
}
