import Foundation
import GymStore

/// Settings of the admin UI, injected by the composition root.
public struct AdminConfiguration: Sendable {
    /// Adds `Secure` to cookies; turn on whenever BooGYMan is reached over HTTPS.
    public var secureCookies: Bool
    /// How long a sign-in lasts.
    public var sessionLifetime: TimeInterval
    /// Failed sign-ins allowed per e-mail and client address within `throttleWindow`.
    public var maximumFailedLogins: Int
    public var throttleWindow: TimeInterval
    /// Opens the stored Kisi API key (clubs page, unlock, connection wizard).
    public var masterKey: MasterKey?

    public init(
        secureCookies: Bool = false, sessionLifetime: TimeInterval = 12 * 3600, maximumFailedLogins: Int = 5,
        throttleWindow: TimeInterval = 15 * 60, masterKey: MasterKey? = nil
    ) {
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
        self.maximumFailedLogins = maximumFailedLogins
        self.throttleWindow = throttleWindow
        self.masterKey = masterKey
    }
}
