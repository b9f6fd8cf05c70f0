import Foundation
import Testing
@testable import GymCore

@Suite("EmailAddress")
struct EmailAddressTests {
    static let local64 = String(repeating: "a", count: 64)
    static let label63 = String(repeating: "b", count: 63)

    @Test("a well-formed address is accepted and keeps its trimmed spelling", arguments: [
        ("ana@example.com", "ana@example.com"),
        ("Ana.Popescu@Example.RO", "Ana.Popescu@Example.RO"),
        ("a@b.co", "a@b.co"),
        ("first.last+gym@mail.sub.example.org", "first.last+gym@mail.sub.example.org"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("x_y-z@ex-ample.com", "x_y-z@ex-ample.com"),
        ("1234@example.com", "1234@example.com"),
        ("#!$%&'*+/=?^_`{|}~-@example.org", "#!$%&'*+/=?^_`{|}~-@example.org"),
        ("user@xn--bcher-kva.ch", "user@xn--bcher-kva.ch"),  // punycode domain
        ("user@123.example.com", "user@123.example.com"),    // numeric label, non-numeric TLD
        ("  padded@example.com  ", "padded@example.com"),
        ("\tnewline@example.com\n", "newline@example.com"),
        ("\(local64)@example.com", "\(local64)@example.com"),
        ("a@\(label63).com", "a@\(label63).com"),
    ])
    func acceptsValid(raw: String, expected: String) throws {
        let address = try #require(EmailAddress(raw))
        #expect(address.value == expected)
        #expect(address.description == expected)
    }

    @Test("a malformed address is rejected", arguments: [
        "",
        "   ",
        "plain",
        "@example.com",
        "ana@",
        "ana@@example.com",
        "a@b@example.com",
        "ana@example",             // no dot in the domain
        "ana@example.c",           // one-letter TLD
        "ana@example.123",         // numeric TLD
        "ana@192.168.0.1",
        "ana@[192.168.0.1]",       // IP literal
        ".ana@example.com",
        "ana.@example.com",
        "an..a@example.com",
        "ana@-example.com",
        "ana@example-.com",
        "ana@example..com",
        "ana@.example.com",
        "ana@example.com.",
        "a na@example.com",
        "ana@exa mple.com",
        "\"ana\"@example.com",     // quoted local part
        "ana(comment)@example.com",
        "ana@example_mail.com",    // underscore not allowed in a domain label
        "ană@example.com",         // non-ASCII local part
        "ana@exämple.com",         // non-ASCII domain
        "a\(String(repeating: "a", count: 64))@example.com",   // 65-character local part
        "a@\(String(repeating: "b", count: 64)).com",           // 64-character label
        "a@\(Array(repeating: String(repeating: "c", count: 60), count: 5).joined(separator: ".")).com", // > 254
    ])
    func rejectsInvalid(raw: String) {
        #expect(EmailAddress(raw) == nil)
    }

    @Test("addresses differing only in letter case are equal and hash alike", arguments: [
        ("ana@example.com", "ANA@EXAMPLE.COM"),
        ("Ana.Pop@Example.ro", "ana.pop@example.RO"),
        (" ana@example.com", "Ana@Example.Com "),
    ])
    func caseInsensitiveEquality(lhs: String, rhs: String) throws {
        let a = try #require(EmailAddress(lhs))
        let b = try #require(EmailAddress(rhs))
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(a.value != b.value, "the original spelling is kept for display")
    }

    @Test("addresses that differ beyond letter case are different", arguments: [
        ("ana@example.com", "ana2@example.com"),
        ("ana@example.com", "ana@example.ro"),
        ("ana.pop@example.com", "anapop@example.com"),
    ])
    func differentAddresses(lhs: String, rhs: String) throws {
        #expect(try #require(EmailAddress(lhs)) != (try #require(EmailAddress(rhs))))
    }

    @Test("the normalized form is trimmed and lower-cased", arguments: [
        ("  Ana.Pop@Example.RO ", "ana.pop@example.ro"),
        ("ANA@EXAMPLE.COM", "ana@example.com"),
        ("already@lower.case", "already@lower.case"),
    ])
    func normalized(raw: String, expected: String) throws {
        #expect(try #require(EmailAddress(raw)).normalized == expected)
    }
}
