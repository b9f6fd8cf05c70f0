import Foundation
import Hummingbird
import Mustache

/// The admin UI's Mustache templates and static assets, compiled into the binary
/// (`Generated/EmbeddedResources.swift`, written by `scripts/embed-resources.py`), so the executable
/// alone is the whole deployment. Templates use `{{ }}` only, which HTML-escapes every value, so member
/// data can never become markup.
struct AdminViews: Sendable {
    let library: MustacheLibrary
    let assets: [String: (contentType: String, body: String)]

    static let bundled = AdminViews()

    init(files: [String: String] = EmbeddedResources.files) {
        var library = MustacheLibrary()
        var assets: [String: (contentType: String, body: String)] = [:]
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            if path.hasPrefix("Templates/"), path.hasSuffix(".mustache") {
                let name = String(path.dropFirst("Templates/".count).dropLast(".mustache".count))
                do {
                    try library.register(text, named: name)
                } catch {
                    // A broken template is a programming error; the page using it answers 500 and the tests fail.
                    FileHandle.standardError.write(Data("admin template \(path) does not parse: \(error)\n".utf8))
                }
            } else if path.hasPrefix("Assets/") {
                let name = String(path.dropFirst("Assets/".count))
                let type = name.hasSuffix(".css") ? "text/css; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "text/plain; charset=utf-8"
                assets[name] = (type, text)
            }
        }
        self.library = library
        self.assets = assets
    }

    func render(_ template: String, _ data: [String: Any]) throws -> String {
        guard let html = library.render(data, withTemplate: template) else {
            throw AdminError.internalProblem("the page template \(template) is missing")
        }
        return html
    }

    func page(_ template: String, _ data: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        // Pages show member data: never cache them in shared caches, and refuse framing (clickjacking).
        fields[.cacheControl] = "no-store"
        fields[.init("X-Frame-Options")!] = "DENY"
        fields[.init("X-Content-Type-Options")!] = "nosniff"
        fields[.contentSecurityPolicy] = "default-src 'self'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: try render(template, data))))
    }
}

/// Failures the admin UI turns into pages.
enum AdminError: Error {
    /// No session: go to the sign-in page.
    case signInRequired(returnTo: String)
    /// Signed in, but the role does not allow this.
    case forbidden
    case notFound
    case badRequest(String)
    /// The form's CSRF token is missing or wrong.
    case csrfRejected
    case internalProblem(String)
}
