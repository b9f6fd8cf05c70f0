import Foundation

/// An integer in a JSON body, decoded so that a number Swift's `Int` cannot hold (`1.5`, `2^63`,
/// `1e400`) is a field error naming the field. `JSONDecoder` reports those with no coding path,
/// which the API could only answer as "not valid JSON" although the JSON is fine.
struct JSONInteger: Decodable, Sendable {
    static let problem = "must be a whole number from \(Int.min) to \(Int.max)"

    let value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        do {
            value = try container.decode(Int.self)
        } catch let error as DecodingError {
            // A string, `true`, an object: already a field error with the right path.
            throw error
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: Self.problem)
        }
    }
}

extension KeyedDecodingContainer {
    func decodeInteger(forKey key: Key) throws -> Int? {
        try decodeIfPresent(JSONInteger.self, forKey: key)?.value
    }

    func decodeIntegers(forKey key: Key) throws -> [Int]? {
        try decodeIfPresent([JSONInteger].self, forKey: key)?.map(\.value)
    }

    /// ``patch(_:forKey:)`` for an integer.
    func patchInteger(forKey key: Key) throws -> Int?? {
        try patch(JSONInteger.self, forKey: key).map { $0?.value }
    }
}
