import FluentKit
import Foundation
import SQLKit

extension GymRepository {
    /// One page of the members whose Kisi user BooGYMan created or invited (the journal holds a
    /// succeeded create or invite of that very user for that member): the other side of
    /// ``adoptedKisiUsers(_:)``, sorted by name, its total the difference of ``kisiUserLinkCounts()``.
    public func createdKisiUsers(_ page: PageRequest = PageRequest()) async throws -> Page<AdoptedKisiUser> {
        let page = page.clamped
        let items = try await linkedKisiUsers(createdByBooGYMan: true, page)
        let counts = try await kisiUserLinkCounts()
        return Page(items: items, total: counts.linked - counts.adopted, limit: page.limit, offset: page.offset)
    }
}
