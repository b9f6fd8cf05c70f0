import Foundation

extension KisiClient {
    /// Page size asked of `GET /event_sets/{id}`; Kisi's default is 50 and the document names no maximum.
    static let eventPageSize = 250

    /// Every event matching `query`: one `POST /event_sets`, polls while Kisi is still collecting the set
    /// (`in_progress`, at most `maximumPolls` times `pollInterval`), then `GET /event_sets/{id}?cursor=`
    /// until the cursor is null.
    ///
    /// The order is Kisi's; sort by ``KisiEvent/createdAt`` when it matters. Stop iterating to stop
    /// fetching: pages are requested one at a time, as they are needed.
    public func allEvents(
        _ query: KisiEventQuery, pollInterval: Duration = .milliseconds(500), maximumPolls: Int = 20
    ) -> KisiEventSequence {
        KisiEventSequence(client: self, query: query, pollInterval: pollInterval, maximumPolls: maximumPolls)
    }
}

/// The events of one event set, across its cursor pages (see ``KisiClient/allEvents(_:pollInterval:maximumPolls:)``).
public struct KisiEventSequence: AsyncSequence, Sendable {
    public typealias Element = KisiEvent
    public typealias Failure = any Error

    let client: KisiClient
    let query: KisiEventQuery
    let pollInterval: Duration
    let maximumPolls: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: KisiEventSequence
        var eventSetID: Int?
        var cursor: String?
        var seenCursors: Set<String> = []
        var buffer: [KisiEvent] = []
        var index = 0

        public mutating func next() async throws -> KisiEvent? {
            while index >= buffer.count {
                guard let page = try await nextPage() else { return nil }
                buffer = page.events
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }

        mutating func nextPage() async throws -> KisiEventPage? {
            let client = sequence.client
            var page: KisiEventPage
            if let eventSetID {
                guard let cursor else { return nil }
                page = try await client.eventSet(id: eventSetID, cursor: cursor, limit: KisiClient.eventPageSize)
            } else {
                page = try await client.createEventSet(sequence.query)
                eventSetID = page.eventSetID
                var polls = 0
                while page.status == .inProgress {
                    guard polls < sequence.maximumPolls else {
                        throw KisiError.unexpected(
                            status: nil, code: nil,
                            description: "event set \(page.eventSetID) still in progress after \(polls) polls")
                    }
                    polls += 1
                    let clock = client.configuration.clock
                    try await clock.sleep(until: clock.now() + sequence.pollInterval)
                    page = try await client.eventSet(id: page.eventSetID, limit: KisiClient.eventPageSize)
                }
            }
            if page.status == .failed {
                throw KisiError.unexpected(status: nil, code: nil, description: "Kisi could not collect event set \(page.eventSetID)")
            }
            // Kisi's own clients stop when the cursor is null or comes back unchanged; a repeated cursor
            // would otherwise loop forever.
            if let next = page.cursor, seenCursors.insert(next).inserted {
                cursor = next
            } else {
                cursor = nil
            }
            return page
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(sequence: self)
    }

    /// Collects every event (the caller bounds the query's interval and filters).
    public func collect() async throws -> [KisiEvent] {
        var all: [KisiEvent] = []
        for try await event in self { all.append(event) }
        return all
    }
}
