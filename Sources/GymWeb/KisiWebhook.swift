import AccessSync
import Crypto
import Foundation
import GymStore
import Hummingbird

/// `POST /webhooks/kisi`: events from the Kisi `event_webhook` integration BooGYMan registers.
///
/// Kisi signs each delivery (`X-Signature: sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret
/// BooGYMan gave it); anything unsigned or mis-signed is refused and changes nothing. An event about
/// something BooGYMan manages becomes an entry in the change log (that member or plan is re-checked
/// within the sync's next poll), or, when it cannot be pinned on one, a request for a full reconcile.
///
/// A signature proves who wrote a delivery, not when: a captured delivery stays validly signed
/// forever. So every delivery must carry Kisi's event `uuid` and `created_at`; one older than
/// ``webhookMaximumAge`` (or dated beyond ``webhookClockSkew`` ahead) is refused, and an event ID
/// already handled is acknowledged without being handled again. IDs are kept for
/// ``webhookSeenIDLifetime``, longer than any delivery stays acceptable. Reconcile requests
/// coalesce: while one waits for the sync, further reports leave it as it is.
extension GymRoutes {
    static let webhookBodyLimit = 256 * 1024
    static let webhookMaximumAge: TimeInterval = 5 * 60
    static let webhookClockSkew: TimeInterval = 60
    static let webhookSeenIDLifetime: TimeInterval = 60 * 60

    func addKisiWebhookRoute(to router: Router<APIContext>, secret currentSecret: @escaping @Sendable () async throws -> String?) {
        router.post("webhooks/kisi") { request, _ -> Response in
            guard let secret = try await currentSecret() else {
                throw APIError(.notFound, code: "webhooks_not_set_up", message: "Kisi webhooks are not set up on this BooGYMan.")
            }
            let body = Data(buffer: try await request.body.collect(upTo: Self.webhookBodyLimit))
            guard let signature = request.headers[HTTPFields.Element.Name("X-Signature")!],
                  KisiWebhookSignature.isValid(signature, body: body, secret: secret)
            else {
                throw APIError(.unauthorized, code: "bad_signature", message: "The webhook signature is missing or does not match.")
            }
            let event: KisiWebhookEvent
            do {
                event = try JSONDecoder().decode(KisiWebhookEvent.self, from: body)
            } catch {
                throw APIError(.badRequest, code: "malformed_json", message: "The webhook body is not a Kisi event.")
            }
            let delivery = try? JSONDecoder().decode(KisiDeliveryEnvelope.self, from: body)
            guard let eventID = delivery?.uuid, !eventID.isEmpty, eventID.count <= 200 else {
                throw APIError(.badRequest, code: "missing_event_id", message: "The webhook event has no uuid, so a replay could not be told apart.")
            }
            guard let occurredAt = delivery?.createdAt.flatMap(KisiDoorEventPayload.date) else {
                throw APIError(.badRequest, code: "missing_event_time", message: "The webhook event has no valid created_at.")
            }
            let instant = now()
            guard occurredAt >= instant.addingTimeInterval(-Self.webhookMaximumAge),
                  occurredAt <= instant.addingTimeInterval(Self.webhookClockSkew)
            else {
                throw APIError(.badRequest, code: "stale_event", message: "The webhook event was created at \(occurredAt.formatted(.iso8601)), too far from now to be a fresh delivery.")
            }
            let repository = self.repository
            guard try await repository.recordKisiWebhookDelivery(
                eventUUID: eventID, type: String(event.type.prefix(100)), keep: Self.webhookSeenIDLifetime, now: instant)
            else {
                // Handled already: acknowledged, so Kisi stops redelivering, and nothing is done twice.
                return Response(status: .noContent)
            }
            do {
                try await handle(event, body: body, repository: repository)
            } catch {
                // Not handled after all: Kisi's redelivery must not be taken for a replay.
                try? await repository.forgetKisiWebhookDelivery(eventUUID: eventID)
                throw error
            }
            return Response(status: .noContent)
        }
    }

    func handle(_ event: KisiWebhookEvent, body: Data, repository: GymRepository) async throws {
        if event.type == "lock.unlock", let door = try? JSONDecoder().decode(KisiDoorEventPayload.self, from: body), let record = door.doorEvent {
            // Kept for the door activity feed and check-ins; an opening changes nobody's access.
            try await repository.recordDoorEvent(record)
            return
        }
        let links = try await repository.kisiLinks()
        let selfUserID = try await repository.syncState.get(.kisiSelfUserID)
        let triage = try await KisiEventTriage.triage(event, selfUserID: selfUserID, links: links) { assignmentID in
            try await repository.memberOfKisiObject(type: "role_assignment", id: assignmentID)
        }
        switch triage {
        case .ignore: break
        case .member(let memberID): try await repository.recordKisiEvent(memberID: memberID)
        case .plan(let planID): try await repository.recordKisiEvent(planID: planID)
        case .everything(let why):
            // A report already waiting is left alone: however many events arrive before the sync
            // looks, they ask for one full reconcile between them.
            _ = try await repository.setSyncStateIfAbsent(.kisiChangeReported, why, now: now())
        }
    }
}

/// What every delivery must carry for replay protection: Kisi's event ID and creation time.
struct KisiDeliveryEnvelope: Decodable {
    var uuid: String?
    var createdAt: String?

    enum CodingKeys: String, CodingKey {
        case uuid, createdAt = "created_at"
    }
}

/// Kisi's webhook signature: `sha256=` followed by the lowercase hex HMAC-SHA256 of the exact body bytes.
public enum KisiWebhookSignature {
    public static func sign(body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// Constant-time check (swift-crypto compares the codes), so timing reveals nothing of the secret.
    public static func isValid(_ header: String, body: Data, secret: String) -> Bool {
        guard header.hasPrefix("sha256="), let mac = bytes(hex: header.dropFirst("sha256=".count)), mac.count == 32 else {
            return false
        }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: body, using: SymmetricKey(data: Data(secret.utf8)))
    }

    static func bytes(hex: Substring) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            result.append(byte)
            index = next
        }
        return result
    }
}

/// The fields of a Kisi `lock.unlock` event the door activity needs.
struct KisiDoorEventPayload: Decodable {
    var uuid: String?
    var actorType: String?
    var actorID: Int?
    var actorName: String?
    var actorEmail: String?
    var objectID: Int?
    var objectName: String?
    var placeID: Int?
    var success: Bool?
    var message: String?
    var errorMessage: String?
    var createdAt: String?

    enum CodingKeys: String, CodingKey {
        case uuid, actorType = "actor_type", actorID = "actor_id", actorName = "actor_name", actorEmail = "actor_email"
        case objectID = "object_id", objectName = "object_name", placeID = "place_id", success, message
        case errorMessage = "error_message", createdAt = "created_at"
    }

    /// nil without the UUID that makes redeliveries harmless.
    var doorEvent: DoorEvent? {
        guard let uuid, !uuid.isEmpty else { return nil }
        return DoorEvent(
            kisiUUID: uuid, occurredAt: createdAt.flatMap(Self.date) ?? Date(), lockID: objectID, lockName: objectName, placeID: placeID,
            kisiUserID: actorType == nil || actorType == "User" ? actorID : nil, actorName: actorName ?? actorEmail,
            // For a refusal Kisi's reason ("The door is currently locked down.") says more than the summary.
            success: success ?? false, message: success == true ? message : (errorMessage ?? message))
    }

    static func date(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
