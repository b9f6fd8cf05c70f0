import Foundation
import Hummingbird
import Mustache

/// The admin UI's Mustache templates and static assets, loaded once from the target's resources.
/// Templates use `{{ }}` only, which HTML-escapes every value, so member data can never become markup.
struct AdminViews: Sendable {
    let library: MustacheLibrary
    let assets: [String: (contentType: String, body: String)]

    static let bundled = AdminViews()

    init() {
        var library = MustacheLibrary()
        var assets: [String: (contentType: String, body: String)] = [:]
        let fileManager = FileManager.default
        if let root = Bundle.module.resourceURL {
            let templates = root.appendingPathComponent("Templates")
            for name in (try? fileManager.contentsOfDirectory(atPath: templates.path)) ?? [] where name.hasSuffix(".mustache") {
                guard let text = try? String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8) else { continue }
                do {
                    try library.register(text, named: String(name.dropLast(".mustache".count)))
                } catch {
                    // A broken template is a programming error; the page using it answers 500 and the tests fail.
                    FileHandle.standardError.write(Data("admin template \(name) does not parse: \(error)\n".utf8))
                }
            }
            let assetDirectory = root.appendingPathComponent("Assets")
            for name in (try? fileManager.contentsOfDirectory(atPath: assetDirectory.path)) ?? [] {
                guard let text = try? String(contentsOf: assetDirectory.appendingPathComponent(name), encoding: .utf8) else { continue }
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
