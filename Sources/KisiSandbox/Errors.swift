import Foundation
import Hummingbird

/// An error response. `Error`-schema bodies are `{"error", "code"}`; validation (422) bodies are `{"errors": {...}}`.
struct APIError: Error, Sendable {
    var status: HTTPResponse.Status
    var body: JSONValue
    var headers: HTTPFields = [:]

    static func error(_ status: HTTPResponse.Status, _ message: String, code: String) -> APIError {
        APIError(status: status, body: .object(["error": .string(message), "code": .string(code)]))
    }

    /// Kisi's observed body for an unknown endpoint.
    static let unknownEndpoint = error(.notFound, "The endpoint does not exist, please check your request.", code: "000404")
    static let unauthorized = error(.unauthorized, "You need to sign in or sign up before continuing.", code: "000401")
    static let forbidden = error(.forbidden, "You are not authorized to perform this action.", code: "000403")

    static func notFound(_ resource: String) -> APIError {
        error(.notFound, "\(resource) not found.", code: "000404")
    }

    /// Locks have their own code in Kisi's table: `fad10e` "The door could not be found."
    static let lockNotFound = error(.notFound, "The door could not be found.", code: "fad10e")

    static func badRequest(_ message: String) -> APIError {
        error(.badRequest, message, code: "000400")
    }

    static func validation(_ errors: [String: [String]]) -> APIError {
        APIError(
            status: .unprocessableContent,
            body: .object(["errors": .object(errors.mapValues { .array($0.map { .string($0) }) })])
        )
    }

    static func validation(_ field: String, _ message: String) -> APIError {
        validation([field: [message]])
    }
}

/// Collects several field errors before failing, as Rails validations do.
struct ValidationErrors {
    var errors: [String: [String]] = [:]
    mutating func add(_ field: String, _ message: String) { errors[field, default: []].append(message) }
    func throwIfAny() throws(APIError) {
        if !errors.isEmpty { throw APIError.validation(errors) }
    }
}

/// Kisi's door-access codes (from the error table in the document's info section).
enum AccessCode {
    static let accessDenied = ("fcd8ef", "Access denied.")
    static let accessDisabled = ("fcd8ff", "Access disabled.")
    static let noLongerValid = ("f35ade", "Your access is no longer valid.")
    static let notYetValid = ("f358de", "Your access is not yet valid, please try again later.")
    static let doorLockedDown = ("fad001", "The door is currently locked down.")
    static let controllerUnavailable = ("fac001", "The Kisi controller is currently unavailable.")
}
