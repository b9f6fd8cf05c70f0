import Foundation
import Testing
@testable import GymWeb

@Suite("Kisi webhook signature")
struct KisiWebhookSignatureTests {
    let body = Data(#"{"type":"lock.unlock","object_type":"Lock","object_id":5001}"#.utf8)

    @Test("a signature made with the secret over the exact body is accepted")
    func accepted() {
        let signature = KisiWebhookSignature.sign(body: body, secret: "s3cret")
        #expect(signature.hasPrefix("sha256=") && signature.count == "sha256=".count + 64)
        #expect(KisiWebhookSignature.isValid(signature, body: body, secret: "s3cret"))
    }

    @Test("another secret, a changed body, a truncated or malformed header are refused", arguments: [
        "other", "body", "truncated", "no-prefix", "not-hex", "empty",
    ])
    func refused(variant: String) {
        let good = KisiWebhookSignature.sign(body: body, secret: "s3cret")
        var header = good
        var checkedBody = body
        var secret = "s3cret"
        switch variant {
        case "other": secret = "other"
        case "body": checkedBody = Data(#"{"type":"lock.unlock","object_type":"Lock","object_id":5002}"#.utf8)
        case "truncated": header = String(good.dropLast(2))
        case "no-prefix": header = String(good.dropFirst("sha256=".count))
        case "not-hex": header = "sha256=" + String(repeating: "zz", count: 32)
        default: header = ""
        }
        #expect(!KisiWebhookSignature.isValid(header, body: checkedBody, secret: secret))
    }
}
