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
    /// How long a page waits for what it reads from Kisi (door events, places, locks) before it shows
    /// "Kisi did not answer" instead: a slow or unreachable Kisi must not hold up the front desk.
    public var kisiPageDeadline: Duration

    public init(
        secureCookies: Bool = false, sessionLifetime: TimeInterval = 12 * 3600, maximumFailedLogins: Int = 5,
        throttleWindow: TimeInterval = 15 * 60, masterKey: MasterKey? = nil, kisiPageDeadline: Duration = .seconds(3)
    ) {
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
        self.maximumFailedLogins = maximumFailedLogins
        self.throttleWindow = throttleWindow
        self.masterKey = masterKey
        self.kisiPageDeadline = kisiPageDeadline
    }
}
