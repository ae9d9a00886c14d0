//! The protected apps (`APPS`): what each is called, where it is served, which scopes it
//! offers, who may use it and where its requests go. `crate::config` reads them from the
//! environment and checks them; features read them from here, never from `crate::config`.

use serde::Deserialize;

use crate::gatekeeper::route::{PathPattern, RouteRule};
use crate::model::person::Person;
use crate::types::{Scope, Scopes};

/// Which request hosts an app answers on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// `"*"`: any loopback host (`127.0.0.1`, `localhost`, `[::1]`, any port), for local
    /// development where the port is chosen at start. Never a public host: behind a wildcard
    /// route, the issuer would be whatever `Host` a caller sent.
    AnyLoopback,
    /// Exactly this `host[:port]`, compared case-insensitively.
    Exact(String),
}

/// One protected app.
#[derive(Debug)]
pub struct App {
    /// Shown to people on the login and consent pages.
    pub name: String,
    /// The hosts this app is served on.
    pub host: HostPattern,
    /// The part of those hosts' paths that is this app: `/` (all of it) or `/segment[/…]`,
    /// without a trailing slash. Everything gatehouse serves for the app lives under it.
    pub path_prefix: String,
    /// The scopes the app offers, with the description the consent page shows.
    pub scopes: Vec<(Scope, String)>,
    /// Granted when a client asks for no scope (RFC 6749 §3.3).
    pub default_scopes: Scopes,
    /// Who may come in.
    pub policy: Policy,
    /// Lifetime of access tokens for this app.
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens for this app.
    pub refresh_token_ttl_secs: u64,
    /// Where requests are forwarded; `None` for the built-in demo app (local development only).
    pub origin: Option<Origin>,
    /// Which scope each method and path needs; the first matching rule decides.
    pub routes: Vec<RouteRule>,
    /// Paths served without any login (health checks, static assets).
    pub public_paths: Vec<PathPattern>,
    /// Whether agents may come in with tokens at all (the "managed OAuth" switch).
    pub agents: bool,
    /// How the origin learns who is asking.
    pub identity: OriginIdentity,
}

/// How an app's origin learns who is asking (`"identity"` in `APPS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OriginIdentity {
    /// `"gatehouse"` (the default): the `Gatehouse-Assertion` JWT (ES256) and `Gatehouse-*`
    /// headers (`gatekeeper::assertion`).
    Gatehouse,
    /// `"cloudflare-access"`: what Cloudflare Access sends, so an app written for Access runs
    /// unchanged once its team domain names gatehouse (`gatekeeper::access`).
    CloudflareAccess {
        /// The app's Access audience tags (`"access_aud"`): the `aud` of its assertions.
        audience: Vec<String>,
    },
}

/// Where an app's requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An http(s) base URL, `scheme://host[:port][/base]`, without a trailing slash.
    Url(String),
    /// A Worker reached through the service binding of this name (`"service:NAME"` in `APPS`),
    /// declared under `[[services]]` in wrangler.toml.
    Service(String),
}

/// Who may use an app: a person is admitted when no deny rule and at least one allow rule match.
/// The same policy applies to the person's browser session and to every token issued for them,
/// and is checked again on every request and refresh.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Emails admitted (case-insensitive).
    #[serde(default)]
    pub allow_emails: Vec<String>,
    /// Email domains admitted: `example.com` admits `alice@example.com`, not `a@sub.example.com`.
    #[serde(default)]
    pub allow_domains: Vec<String>,
    /// Identity-provider groups admitted.
    #[serde(default)]
    pub allow_groups: Vec<String>,
    /// Emails refused even when an allow rule matches.
    #[serde(default)]
    pub deny_emails: Vec<String>,
    /// Groups refused even when an allow rule matches.
    #[serde(default)]
    pub deny_groups: Vec<String>,
}

impl Policy {
    /// Whether the person with this email and these groups may use the app. Groups compare
    /// exactly (identity providers' group names are case-sensitive).
    pub fn admits(&self, email: &str, groups: &[String]) -> bool {
        let email = email.to_ascii_lowercase();
        let in_any = |listed: &[String]| groups.iter().any(|g| listed.contains(g));
        if self
            .deny_emails
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&email))
            || in_any(&self.deny_groups)
        {
            return false;
        }
        let domain = email.rsplit_once('@').map(|(_, d)| d);
        self.allow_emails
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&email))
            || domain.is_some_and(|d| self.allow_domains.iter().any(|a| a.eq_ignore_ascii_case(d)))
            || in_any(&self.allow_groups)
    }

    /// Whether this person may use the app.
    pub fn admits_person(&self, person: &Person) -> bool {
        self.admits(&person.email, &person.groups)
    }
}

/// The app that serves `path` on `host` (`host[:port]`): the one with the longest path prefix
/// covering it, among those served on that host.
pub fn app_for<'a>(apps: &'a [App], host: &str, path: &str) -> Option<&'a App> {
    apps.iter()
        .filter(|app| match &app.host {
            HostPattern::AnyLoopback => crate::http::loopback::is_loopback_host(host),
            HostPattern::Exact(h) => h.eq_ignore_ascii_case(host),
        })
        .filter(|app| prefix_covers(&app.path_prefix, path))
        .max_by_key(|app| app.path_prefix.len())
}

/// Whether `path` is `prefix` or below it (`/wiki` covers `/wiki` and `/wiki/x`, not `/wikis`).
fn prefix_covers(prefix: &str, path: &str) -> bool {
    prefix == "/"
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
