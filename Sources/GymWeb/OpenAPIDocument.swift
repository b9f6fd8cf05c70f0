/// The API's OpenAPI document, compiled into the binary from `Resources/openapi.yaml`
/// (`Generated/EmbeddedResources.swift`, written by `scripts/embed-resources.py`) and served verbatim.
enum OpenAPIDocument {
    static let yaml: String = EmbeddedResources.files["Resources/openapi.yaml"] ?? ""
}
