import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address or CIDR block, IPv4 or IPv6 (`10.0.0.0/8`, `192.168.1.10`, `fd00::/8`).
public struct IPAddressRange: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes; IPv4-mapped IPv6 addresses are kept as IPv4, so either spelling matches.
    let network: [UInt8]
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let bytes = IPAddressRange.bytes(String(first)) else { return nil }
        let bits = bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given) else { return nil }
            length = given
        }
        self.network = IPAddressRange.masked(bytes, prefixLength: length)
        self.prefixLength = length
    }

    /// True when `address` (a literal IP address) lies in this range.
    public func contains(_ address: String) -> Bool {
        guard let bytes = IPAddressRange.bytes(address), bytes.count == network.count else { return false }
        return IPAddressRange.masked(bytes, prefixLength: prefixLength) == network
    }

    public var description: String {
        let family = network.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let text = network.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        let address = text == nil ? "?" : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return prefixLength == network.count * 8 ? address : "\(address)/\(prefixLength)"
    }

    /// The address's bytes, or nil when it is no literal IP address.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return Array(bytes[12...]) }
        return bytes
    }

    static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(8, max(0, prefixLength - index * 8))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
    }
}

/// The reverse proxies whose `X-Forwarded-For` BooGYMan believes (`BOOGYMAN_TRUSTED_PROXIES`).
public struct TrustedProxies: Sendable, Equatable {
    public var ranges: [IPAddressRange]

    public init(_ ranges: [IPAddressRange] = []) {
        self.ranges = ranges
    }

    /// Parses a comma-separated list of addresses and CIDR blocks; throws naming the first bad entry.
    public init(parsing text: String) throws {
        var ranges: [IPAddressRange] = []
        for entry in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            guard let range = IPAddressRange(entry) else { throw InvalidProxyEntry(entry: entry) }
            ranges.append(range)
        }
        self.ranges = ranges
    }

    public struct InvalidProxyEntry: Error, CustomStringConvertible {
        public let entry: String
        public var description: String { "\"\(entry)\" is not an IP address or CIDR block" }
    }

    public func trusts(_ address: String) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    /// The client's address: the socket peer, unless it is a trusted proxy; then, walking the
    /// `X-Forwarded-For` chain from the right (the entries the proxies appended), the first address
    /// that is not a trusted proxy. Entries left of it were written by the client and may be forged.
    /// - Parameters:
    ///   - peer: the socket's remote address.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    public func clientAddress(peer: String, forwardedFor: [String]) -> String {
        let peer = Self.normalized(peer) ?? peer
        guard trusts(peer) else { return peer }
        let chain = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        var nearest = peer
        for entry in chain.reversed() {
            // A hop a trusted proxy could not spell as an address: the proxy is the last thing we know.
            guard let address = Self.normalized(entry) else { return nearest }
            guard trusts(address) else { return address }
            nearest = address
        }
        // Every hop is a proxy of ours (say, a health check from inside): the left-most one it is.
        return nearest
    }

    /// The canonical spelling of an address, accepting the `[v6]:port` and `v4:port` forms proxies
    /// sometimes write; nil when the text is no address.
    static func normalized(_ text: String) -> String? {
        var candidate = text.trimmingCharacters(in: .whitespaces)
        if candidate.hasPrefix("["), let close = candidate.firstIndex(of: "]") {
            candidate = String(candidate[candidate.index(after: candidate.startIndex)..<close])
        } else if candidate.filter({ $0 == ":" }).count == 1, let colon = candidate.firstIndex(of: ":") {
            candidate = String(candidate[..<colon])
        }
        guard let range = IPAddressRange(candidate), range.prefixLength == range.network.count * 8, !candidate.contains("/") else { return nil }
        return range.description
    }
}
