import Foundation
import Testing
import GymWeb

@Suite("Client address behind trusted proxies")
struct ClientAddressTests {
    let proxies = try! TrustedProxies(parsing: "10.0.0.0/8, 192.168.1.1, fd00::/8")

    @Test("The right-most address that is not a trusted proxy is the client", arguments: [
        // (socket peer, X-Forwarded-For, expected client)
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),                    // peer is no proxy: its header is ignored
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),                      // one proxy
        ("10.0.0.5", "6.6.6.6, 198.51.100.1", "198.51.100.1"),             // forged entry left of the real one
        ("10.0.0.5", "198.51.100.1, 192.168.1.1", "198.51.100.1"),         // two proxies of ours
        ("10.0.0.5", "", "10.0.0.5"),                                       // a proxy speaking for itself
        ("10.0.0.5", "10.9.9.9, 192.168.1.1", "10.9.9.9"),                 // nothing but proxies: the left-most
        ("10.0.0.5", "garbage, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "198.51.100.1, garbage", "10.0.0.5"),                 // a proxy wrote nonsense: trust stops there
        ("::ffff:10.0.0.5", "198.51.100.1", "198.51.100.1"),               // IPv4-mapped peer
        ("fd00::1", "[2001:db8::7]:4711", "2001:db8::7"),                   // IPv6 with port, as some proxies write it
        ("10.0.0.5", "198.51.100.1:5555", "198.51.100.1"),
    ])
    func clientAddress(peer: String, forwardedFor: String, expected: String) {
        #expect(proxies.clientAddress(peer: peer, forwardedFor: forwardedFor.isEmpty ? [] : [forwardedFor]) == expected)
    }

    @Test("Several X-Forwarded-For headers form one chain, in order")
    func severalHeaders() {
        #expect(proxies.clientAddress(peer: "10.0.0.5", forwardedFor: ["6.6.6.6", "198.51.100.1, 10.1.1.1"]) == "198.51.100.1")
    }

    @Test("CIDR blocks match by prefix, for IPv4 and IPv6, and bad entries are refused")
    func ranges() throws {
        #expect(IPAddressRange("10.0.0.0/8")?.contains("10.255.1.2") == true)
        #expect(IPAddressRange("10.0.0.0/8")?.contains("11.0.0.1") == false)
        #expect(IPAddressRange("172.16.0.0/12")?.contains("172.31.255.255") == true)
        #expect(IPAddressRange("172.16.0.0/12")?.contains("172.32.0.1") == false)
        #expect(IPAddressRange("2001:db8::/32")?.contains("2001:db8:ffff::1") == true)
        #expect(IPAddressRange("2001:db8::/32")?.contains("2001:db9::1") == false)
        #expect(IPAddressRange("0.0.0.0/0")?.contains("8.8.8.8") == true)
        #expect(IPAddressRange("192.168.1.1")?.contains("192.168.1.2") == false)
        for bad in ["10.0.0.0/33", "10.0.0", "proxy.example", "::/129", "1.2.3.4/x"] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
        #expect(throws: TrustedProxies.InvalidProxyEntry.self) { try TrustedProxies(parsing: "10.0.0.1, nonsense") }
        #expect(try TrustedProxies(parsing: " 10.0.0.1 ,, ::1 ").ranges.count == 2)
    }
}
