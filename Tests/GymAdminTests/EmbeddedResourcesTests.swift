import Foundation
import Testing

@testable import GymAdmin
@testable import GymWeb

/// The resources compiled into the binary are the files in the source tree: an edited template, asset
/// or OpenAPI document without `python3 scripts/embed-resources.py` afterwards fails here.
@Suite("Embedded resources")
struct EmbeddedResourcesTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    func files(in module: String, _ entries: [String]) throws -> [String: String] {
        let root = Self.sources.appendingPathComponent(module)
        var found: [String: String] = [:]
        for entry in entries {
            let url = root.appendingPathComponent(entry)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
            let paths = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.map { entry + "/" + $0 }
                : [entry]
            for path in paths { found[path] = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) }
        }
        return found
    }

    @Test("The admin templates and assets compiled in match Sources/GymAdmin/Templates and Assets")
    func adminResources() throws {
        let onDisk = try files(in: "GymAdmin", ["Templates", "Assets"])
        try #require(!onDisk.isEmpty, "the source tree is not beside the tests")
        #expect(Set(GymAdmin.EmbeddedResources.files.keys) == Set(onDisk.keys), "run python3 scripts/embed-resources.py")
        for (path, text) in onDisk {
            #expect(GymAdmin.EmbeddedResources.files[path] == text, "\(path) changed: run python3 scripts/embed-resources.py")
        }
    }

    @Test("The OpenAPI document compiled in matches Sources/GymWeb/Resources/openapi.yaml")
    func openAPIDocument() throws {
        let onDisk = try files(in: "GymWeb", ["Resources/openapi.yaml"])
        #expect(GymWeb.EmbeddedResources.files == onDisk, "run python3 scripts/embed-resources.py")
        #expect(OpenAPIDocument.yaml.hasPrefix("openapi: 3"))
    }

    @Test("Every template parses and every asset is served with its type")
    func viewsLoad() throws {
        let views = AdminViews.bundled
        for path in GymAdmin.EmbeddedResources.files.keys where path.hasPrefix("Templates/") {
            let name = String(path.dropFirst("Templates/".count).dropLast(".mustache".count))
            #expect(views.library.getTemplate(named: name) != nil, "\(name) did not parse")
        }
        #expect(views.assets["admin.css"]?.contentType == "text/css; charset=utf-8")
        #expect(views.assets["admin.js"]?.contentType == "text/javascript; charset=utf-8")
    }
}
