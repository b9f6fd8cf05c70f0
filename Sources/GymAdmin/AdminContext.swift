import GymStore
import GymWeb
import Hummingbird

/// Per-request state of the admin UI: the signed-in staff member, if any, and the client's address
/// (for sign-in throttling). Derived from the JSON API's context so both share one router.
public struct AdminContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's IP address: the socket's peer, or what trusted proxies say it is
    /// (`ClientAddressMiddleware`).
    public var clientAddress: String
    /// Set by `StaffSessionMiddleware` when the request carries a live session cookie.
    public var session: StaffSession?
    /// The session cookie's secret; kept to derive the CSRF token, never logged or rendered.
    var sessionSecret: String?

    public init(context: APIContext) {
        self.coreContext = context.coreContext
        self.clientAddress = context.remoteAddress ?? "unknown"
        self.session = nil
        self.sessionSecret = nil
    }

    /// The CSRF token forms of this session must carry.
    var csrfToken: String? { sessionSecret.map(CSRF.token(forSession:)) }
}
