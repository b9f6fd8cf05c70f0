import Foundation

/// The API's OpenAPI document, shipped as a resource and served verbatim.
enum OpenAPIDocument {
    static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "openapi: 3.1.0\ninfo: {title: BooGYMan API, version: '1'}\npaths: {}\n" }
        return text
    }()
}
