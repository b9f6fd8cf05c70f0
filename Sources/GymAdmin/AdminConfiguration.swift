import Foundation
import GymStore
import GymWeb

/// Settings of the admin UI, injected by the composition root.
public struct AdminConfiguration: Sendable {
    /// Adds `Secure` to cookies; turn on whenever BooGYMan is reached over HTTPS.
    public var secureCookies: Bool
    /// How long a sign-in lasts.
    public var sessionLifetime: TimeInterval
    /// Failed sign-ins allowed per account and address, per address and per account (see `SignInLimits`).
    public var signInLimits: SignInLimits
    /// Proxies whose `X-Forwarded-For` names the client; without any, the socket's peer is the client.
    public var trustedProxies: TrustedProxies
    /// Opens the stored Kisi API key (clubs page, unlock, connection wizard).
    public var masterKey: MasterKey?
    /// How long a page waits for what it reads from Kisi (door events, places, locks) before it shows
    /// "Kisi did not answer" instead: a slow or unreachable Kisi must not hold up the front desk.
    public var kisiPageDeadline: Duration
    /// How long "Block now", "Unblock" and "Resync now" wait for the sync leader to carry the change to
    /// Kisi before the page says Kisi follows within seconds.
    public var memberSyncWait: Duration
    /// Pace the connection wizard's key check through the database with the running sync (PostgreSQL).
    public var sharesKisiPacing: Bool

    public init(
        secureCookies: Bool = false, sessionLifetime: TimeInterval = 12 * 3600, signInLimits: SignInLimits = SignInLimits(),
        trustedProxies: TrustedProxies = TrustedProxies(), masterKey: MasterKey? = nil, kisiPageDeadline: Duration = .seconds(3),
        memberSyncWait: Duration = .seconds(5), sharesKisiPacing: Bool = false
    ) {
        self.memberSyncWait = memberSyncWait
        self.sharesKisiPacing = sharesKisiPacing
        self.secureCookies = secureCookies
        self.sessionLifetime = sessionLifetime
        self.signInLimits = signInLimits
        self.trustedProxies = trustedProxies
        self.masterKey = masterKey
        self.kisiPageDeadline = kisiPageDeadline
    }
}
