//! gatehouse's configuration: the protected apps, their scopes and policies, local accounts and
//! the server secret. The Worker builds it once per isolate from its variables and secrets;
//! anything wrong fails the first request with a [`ConfigError`] that names the setting and the
//! fix, never later in the middle of a flow.
//!
//! Defaults are secure: an app admits nobody until its policy names who may come in.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::gatekeeper::route::{PathPattern, RouteRule};
use crate::http::loopback::is_loopback_host;
use crate::password::{PasswordHash, PasswordHashError};
use crate::types::{Scope, Scopes};

use crate::app::app_for;

pub use crate::access_token::{ACCESS_TOKEN_TTL_SECS, MAX_ACCESS_TOKEN_TTL_SECS};
pub use crate::app::{App, HostPattern, Origin, OriginIdentity, Policy};
pub use crate::error::ConfigError;
pub use crate::server_secret::ServerSecret;

/// Refresh tokens live this long unless an app says otherwise; every use rotates them.
pub const REFRESH_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;
/// A signing key signs for this long before the next one takes over (`SIGNING_KEY_ROTATION_SECS`).
pub const SIGNING_KEY_ROTATION_SECS: u64 = 30 * 24 * 3600;
/// The shortest server secret accepted: 256 bits of entropy as hex or base64 needs 32+ chars.
const MIN_SECRET_CHARS: usize = 32;

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The protected apps, in the order they are matched.
    pub apps: Vec<App>,
    /// Local accounts: lowercase email → password hash.
    pub accounts: BTreeMap<String, PasswordHash>,
    /// The server secret from which gatehouse derives its internal keys.
    pub secret: ServerSecret,
    /// The keys that tag the client ids, codes and refresh tokens gatehouse issues, derived
    /// from the secret.
    pub identifiers: crate::identifiers::IdentifierKeys,
    /// How long a token signing key signs before it is rotated.
    pub signing_key_rotation_secs: u64,
    /// The SHA-256 of the admin API's bearer token (`ADMIN_TOKEN`); `None` turns the API off.
    pub admin_token: Option<crate::secret::SecretHash>,
    /// The people who may use the admin API from their browser session (`ADMINS`); `None`
    /// admits nobody that way.
    pub admins: Option<Policy>,
    /// Migration mode (`MIGRATION_MODE=on`): D1 is being moved, so nothing is written to it.
    pub migration: Option<crate::migration::Migration>,
    /// Upstream OpenID Connect providers people may log in with (`OIDC_PROVIDERS`).
    pub oidc_providers: Vec<crate::oidc::provider::Provider>,
    /// Client ID Metadata Documents: on or off, which hosts (`CIMD`, `CIMD_ALLOWED_HOSTS`,
    /// `CIMD_DENIED_HOSTS`, `CIMD_ALLOW_INSECURE_LOOPBACK`).
    pub cimd: crate::cimd::CimdPolicy,
    /// How long audit events are kept (`AUDIT_RETENTION_DAYS`, in seconds); `None`: forever.
    pub audit_retention_secs: Option<u64>,
}

/// Every variable and secret gatehouse reads, by name: the Worker's environment and
/// `gatehouse-check-config` both look settings up through this list, so a name is spelled once.
pub mod names {
    /// Variable: the protected apps, as JSON.
    pub const APPS: &str = "APPS";
    /// Variable: local accounts, as JSON.
    pub const LOCAL_ACCOUNTS: &str = "LOCAL_ACCOUNTS";
    /// Secret: the server secret.
    pub const GATEHOUSE_SECRET: &str = "GATEHOUSE_SECRET";
    /// Secret: the server secret `GATEHOUSE_SECRET` replaced, accepted during a rotation.
    pub const GATEHOUSE_SECRET_PREVIOUS: &str = "GATEHOUSE_SECRET_PREVIOUS";
    /// Secret: the admin API's bearer token.
    pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
    /// Variable: upstream OpenID Connect providers, as JSON.
    pub const OIDC_PROVIDERS: &str = "OIDC_PROVIDERS";
    /// Variable: seconds a signing key signs before rotation.
    pub const SIGNING_KEY_ROTATION_SECS: &str = "SIGNING_KEY_ROTATION_SECS";
    /// Variable: the policy of the people who may use the admin API from a browser.
    pub const ADMINS: &str = "ADMINS";
    /// Variable: `on` while the database is being moved.
    pub const MIGRATION_MODE: &str = "MIGRATION_MODE";
    /// Variable: the `Retry-After` of writes refused in migration mode.
    pub const MIGRATION_RETRY_AFTER_SECS: &str = "MIGRATION_RETRY_AFTER_SECS";
    /// Variable: the lifetime of access tokens issued in migration mode.
    pub const MIGRATION_ACCESS_TOKEN_TTL_SECS: &str = "MIGRATION_ACCESS_TOKEN_TTL_SECS";
    /// Variable: `on` (default) or `off`, Client ID Metadata Documents.
    pub const CIMD: &str = "CIMD";
    /// Variable: the only hosts metadata documents may come from (comma-separated patterns).
    pub const CIMD_ALLOWED_HOSTS: &str = "CIMD_ALLOWED_HOSTS";
    /// Variable: hosts metadata documents may not come from.
    pub const CIMD_DENIED_HOSTS: &str = "CIMD_DENIED_HOSTS";
    /// Variable: local tests only, plain-http loopback documents.
    pub const CIMD_ALLOW_INSECURE_LOOPBACK: &str = "CIMD_ALLOW_INSECURE_LOOPBACK";
    /// Variable: days audit events are kept (unset: forever).
    pub const AUDIT_RETENTION_DAYS: &str = "AUDIT_RETENTION_DAYS";

    /// The settings that must be Worker secrets (`wrangler secret put`), never `[vars]`, besides
    /// the client secrets `OIDC_PROVIDERS` names.
    pub const SECRETS: [&str; 3] = [GATEHOUSE_SECRET, GATEHOUSE_SECRET_PREVIOUS, ADMIN_TOKEN];
}

/// The raw text of the settings, as the Worker reads them from its variables and secrets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings<'a> {
    /// `APPS`: JSON array of apps.
    pub apps: Option<&'a str>,
    /// `LOCAL_ACCOUNTS`: JSON object, email → password hash.
    pub local_accounts: Option<&'a str>,
    /// `GATEHOUSE_SECRET`: at least 32 characters.
    pub secret: Option<&'a str>,
    /// `GATEHOUSE_SECRET_PREVIOUS`: the secret `GATEHOUSE_SECRET` replaced, during a rotation.
    pub secret_previous: Option<&'a str>,
    /// `SIGNING_KEY_ROTATION_SECS`: seconds, default 30 days.
    pub signing_key_rotation_secs: Option<&'a str>,
    /// `ADMIN_TOKEN`: the admin API's bearer token, at least 32 characters.
    pub admin_token: Option<&'a str>,
    /// `ADMINS`: JSON policy of the people who may use the admin API from a browser session.
    pub admins: Option<&'a str>,
    /// `MIGRATION_MODE`: `on` or `off` (the default).
    pub migration_mode: Option<&'a str>,
    /// `MIGRATION_RETRY_AFTER_SECS`: seconds, default 300.
    pub migration_retry_after_secs: Option<&'a str>,
    /// `MIGRATION_ACCESS_TOKEN_TTL_SECS`: seconds, default 14400.
    pub migration_access_token_ttl_secs: Option<&'a str>,
    /// `OIDC_PROVIDERS`: JSON array of upstream OpenID Connect providers.
    pub oidc_providers: Option<&'a str>,
    /// The Worker secrets `OIDC_PROVIDERS` names (`client_secret_env`), by name.
    pub oidc_secrets: Option<&'a BTreeMap<String, String>>,
    /// `CIMD`, `CIMD_ALLOWED_HOSTS`, `CIMD_DENIED_HOSTS`, `CIMD_ALLOW_INSECURE_LOOPBACK`.
    pub cimd: crate::cimd::CimdSettings<'a>,
    /// `AUDIT_RETENTION_DAYS`: days, unset keeps audit events forever.
    pub audit_retention_days: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: String,
    host: String,
    scopes: BTreeMap<String, String>,
    #[serde(default)]
    default_scopes: Vec<String>,
    policy: Policy,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    origin: Option<String>,
    path_prefix: Option<String>,
    #[serde(default)]
    routes: Vec<RouteRule>,
    #[serde(default)]
    public_paths: Vec<PathPattern>,
    #[serde(default = "agents_by_default")]
    agents: bool,
    identity: Option<String>,
    #[serde(default)]
    access_aud: Vec<String>,
}

fn agents_by_default() -> bool {
    true
}

const APPS_FIX: &str = "set APPS to a JSON array of apps as documented in the README, \
                        e.g. [{\"name\":\"Wiki\",\"host\":\"wiki.example.com\",\"scopes\":{\"read\":\"Read pages\"},\
                        \"policy\":{\"allow_domains\":[\"example.com\"]},\"origin\":\"https://wiki.internal.example.com\"}]";

fn apps_error(problem: String) -> ConfigError {
    ConfigError {
        setting: "APPS",
        problem,
        fix: APPS_FIX,
    }
}

impl Config {
    /// Parses and validates every setting.
    pub fn from_settings(settings: Settings<'_>) -> Result<Self, ConfigError> {
        let apps = parse_apps(settings.apps)?;
        let cimd = crate::cimd::CimdPolicy::from_settings(settings.cimd, &apps)?;
        let secret = parse_secret(settings.secret, settings.secret_previous)?;
        Ok(Self {
            apps,
            accounts: parse_accounts(settings.local_accounts)?,
            identifiers: crate::identifiers::IdentifierKeys::derive(&secret),
            secret,
            signing_key_rotation_secs: parse_secs(
                settings.signing_key_rotation_secs,
                Secs {
                    setting: "SIGNING_KEY_ROTATION_SECS",
                    default: SIGNING_KEY_ROTATION_SECS,
                    range: 1..=365 * 24 * 3600,
                    fix: "set it to the seconds a signing key should sign before rotation (default 2592000, 30 days), or remove it",
                },
            )?,
            admin_token: parse_admin_token(settings.admin_token)?,
            admins: parse_admins(settings.admins)?,
            migration: parse_migration(settings)?,
            oidc_providers: crate::oidc::provider::parse(
                settings.oidc_providers,
                settings.oidc_secrets.unwrap_or(&BTreeMap::new()),
            )?,
            cimd,
            audit_retention_secs: parse_audit_retention(settings.audit_retention_days)?,
        })
    }

    /// Reads every setting through `read` (by its name in [`names`], and the client secrets
    /// `OIDC_PROVIDERS` names) and validates them: the one way the Worker and
    /// `gatehouse-check-config` build a configuration, so both judge the same text alike.
    pub fn from_lookup(read: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        use names::*;
        let [
            apps,
            accounts,
            secret,
            secret_previous,
            rotation,
            admin_token,
            admins,
            migration,
            retry_after,
            ttl,
            providers,
            cimd,
            cimd_allowed,
            cimd_denied,
            cimd_insecure,
            audit_retention,
        ] = [
            APPS,
            LOCAL_ACCOUNTS,
            GATEHOUSE_SECRET,
            GATEHOUSE_SECRET_PREVIOUS,
            SIGNING_KEY_ROTATION_SECS,
            ADMIN_TOKEN,
            ADMINS,
            MIGRATION_MODE,
            MIGRATION_RETRY_AFTER_SECS,
            MIGRATION_ACCESS_TOKEN_TTL_SECS,
            OIDC_PROVIDERS,
            CIMD,
            CIMD_ALLOWED_HOSTS,
            CIMD_DENIED_HOSTS,
            CIMD_ALLOW_INSECURE_LOOPBACK,
            AUDIT_RETENTION_DAYS,
        ]
        .map(&read);
        let oidc_secrets = crate::oidc::provider::secret_names(providers.as_deref())
            .into_iter()
            .filter_map(|name| read(&name).map(|value| (name, value)))
            .collect();
        Self::from_settings(Settings {
            apps: apps.as_deref(),
            local_accounts: accounts.as_deref(),
            secret: secret.as_deref(),
            secret_previous: secret_previous.as_deref(),
            signing_key_rotation_secs: rotation.as_deref(),
            admin_token: admin_token.as_deref(),
            admins: admins.as_deref(),
            migration_mode: migration.as_deref(),
            migration_retry_after_secs: retry_after.as_deref(),
            migration_access_token_ttl_secs: ttl.as_deref(),
            oidc_providers: providers.as_deref(),
            oidc_secrets: Some(&oidc_secrets),
            cimd: crate::cimd::CimdSettings {
                cimd: cimd.as_deref(),
                allowed_hosts: cimd_allowed.as_deref(),
                denied_hosts: cimd_denied.as_deref(),
                allow_insecure_loopback: cimd_insecure.as_deref(),
            },
            audit_retention_days: audit_retention.as_deref(),
        })
    }

    /// What a valid configuration must still change before it serves a deployed zone. Local
    /// development is the place for these, and a public zone would get nothing from them: a
    /// `"*"` app (the only kind that may omit `origin` and serve the built-in demo) answers
    /// loopback hosts only, and an app on a loopback host is never reached from outside.
    pub fn deploy_problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        for app in &self.apps {
            match &app.host {
                HostPattern::AnyLoopback => problems.push(ConfigError {
                    setting: names::APPS,
                    problem: format!(
                        "app {:?} has host \"*\", which answers loopback hosts only",
                        app.name
                    ),
                    fix: "give each app the public host it is served on, e.g. \"host\":\"wiki.example.com\", and route that host to this Worker",
                }),
                HostPattern::Exact(host) if is_loopback_host(host) => {
                    problems.push(ConfigError {
                        setting: names::APPS,
                        problem: format!("app {:?} is served on the loopback host {host:?}", app.name),
                        fix: "give each app the public host it is served on, e.g. \"host\":\"wiki.example.com\"",
                    });
                }
                HostPattern::Exact(_) => {}
            }
        }
        problems
    }

    /// What a client lookup needs besides storage ([`crate::cimd::find_client`]).
    pub fn client_lookup(&self) -> crate::cimd::ClientLookup<'_> {
        crate::cimd::ClientLookup {
            cimd: &self.cimd,
            ids: &self.identifiers.client_ids,
        }
    }

    /// The app that serves `path` on `host` (`host[:port]` of the request URL): of the apps on
    /// that host whose path prefix covers the path, the one with the longest prefix.
    pub fn app_for(&self, host: &str, path: &str) -> Option<&App> {
        app_for(&self.apps, host, path)
    }
}

/// A path prefix: `/`, or `/` and unreserved-character segments (RFC 3986 §2.3), no trailing
/// slash, no dot-segments.
fn validate_path_prefix(prefix: &str) -> Result<String, String> {
    if prefix == "/" {
        return Ok(prefix.to_owned());
    }
    let clean = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    match prefix.strip_prefix('/') {
        Some(rest) if rest.split('/').all(clean) => Ok(prefix.to_owned()),
        _ => Err(format!(
            "path_prefix {prefix:?} must be \"/\" or \"/segment[/segment…]\" without a trailing slash"
        )),
    }
}

fn parse_apps(text: Option<&str>) -> Result<Vec<App>, ConfigError> {
    let text = text.ok_or_else(|| apps_error("it is not set".into()))?;
    let raw: Vec<RawApp> =
        serde_json::from_str(text).map_err(|e| apps_error(format!("it is not valid: {e}")))?;
    if raw.is_empty() {
        return Err(apps_error("it lists no app".into()));
    }
    let apps: Vec<App> = raw
        .into_iter()
        .map(validate_app)
        .collect::<Result<_, _>>()?;
    for (i, app) in apps.iter().enumerate() {
        let twin = apps
            .iter()
            .skip(i + 1)
            .find(|other| other.host == app.host && other.path_prefix == app.path_prefix);
        if let Some(twin) = twin {
            return Err(apps_error(format!(
                "apps {:?} and {:?} have the same host and path_prefix",
                app.name, twin.name
            )));
        }
    }
    Ok(apps)
}

fn validate_app(raw: RawApp) -> Result<App, ConfigError> {
    let name = raw.name;
    let at = |what: &str| format!("app {name:?}: {what}");
    if name.trim().is_empty() {
        return Err(apps_error("an app has an empty name".into()));
    }
    let host = match raw.host.as_str() {
        "*" => HostPattern::AnyLoopback,
        h if !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b)) =>
        {
            HostPattern::Exact(h.to_ascii_lowercase())
        }
        h => {
            return Err(apps_error(at(&format!(
                "host {h:?} is not a host name or \"*\""
            ))));
        }
    };
    let mut scopes = Vec::with_capacity(raw.scopes.len());
    for (scope, description) in raw.scopes {
        let parsed = Scope::parse(&scope).map_err(|_| {
            apps_error(at(&format!(
                "scope {scope:?} is not a valid scope token (RFC 6749 §3.3)"
            )))
        })?;
        scopes.push((parsed, description));
    }
    if scopes.is_empty() {
        return Err(apps_error(at("it offers no scope")));
    }
    let default_scopes = Scopes::parse(&raw.default_scopes.join(" "))
        .map_err(|_| apps_error(at("default_scopes holds an invalid scope")))?;
    if default_scopes
        .iter()
        .any(|d| !scopes.iter().any(|(s, _)| s == d))
    {
        return Err(apps_error(at(
            "default_scopes names a scope the app does not offer",
        )));
    }
    let policy = &raw.policy;
    if policy.allow_emails.is_empty()
        && policy.allow_domains.is_empty()
        && policy.allow_groups.is_empty()
    {
        return Err(apps_error(at(
            "policy admits nobody: set policy.allow_emails, policy.allow_domains or policy.allow_groups",
        )));
    }
    let access_token_ttl_secs = raw.access_token_ttl_secs.unwrap_or(ACCESS_TOKEN_TTL_SECS);
    if !(60..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&access_token_ttl_secs) {
        return Err(apps_error(at(
            "access_token_ttl_secs must be between 60 and 86400",
        )));
    }
    let refresh_token_ttl_secs = raw.refresh_token_ttl_secs.unwrap_or(REFRESH_TOKEN_TTL_SECS);
    if refresh_token_ttl_secs < access_token_ttl_secs {
        return Err(apps_error(at(
            "refresh_token_ttl_secs is shorter than access_token_ttl_secs",
        )));
    }
    let path_prefix = validate_path_prefix(raw.path_prefix.as_deref().unwrap_or("/"))
        .map_err(|problem| apps_error(at(&problem)))?;
    let origin = raw
        .origin
        .map(|o| validate_origin(&o).map_err(|problem| apps_error(at(&problem))))
        .transpose()?;
    if origin.is_none() && host != HostPattern::AnyLoopback {
        return Err(apps_error(at(
            "origin is required: the built-in demo app answers only for host \"*\" (local development)",
        )));
    }
    if let Some(rule) = raw
        .routes
        .iter()
        .find(|r| !scopes.iter().any(|(s, _)| s == &r.scope))
    {
        return Err(apps_error(at(&format!(
            "a route needs scope {:?}, which the app does not offer",
            rule.scope.as_str()
        ))));
    }
    let identity = validate_identity(raw.identity.as_deref(), raw.access_aud)
        .map_err(|e| apps_error(at(&e)))?;
    Ok(App {
        identity,
        name,
        host,
        scopes,
        default_scopes,
        policy: raw.policy,
        access_token_ttl_secs,
        refresh_token_ttl_secs,
        path_prefix,
        origin,
        routes: raw.routes,
        public_paths: raw.public_paths,
        agents: raw.agents,
    })
}

/// `"identity"` and `"access_aud"`: an Access audience tag is what the app's own setting
/// holds (Access shows a 64-hex-digit "Application Audience (AUD) Tag"); any printable ASCII
/// without spaces is accepted, since the app compares it as a string.
fn validate_identity(
    identity: Option<&str>,
    audience: Vec<String>,
) -> Result<OriginIdentity, String> {
    match identity {
        None | Some("gatehouse") if audience.is_empty() => Ok(OriginIdentity::Gatehouse),
        None | Some("gatehouse") => {
            Err("access_aud is set but identity is not \"cloudflare-access\"".into())
        }
        Some("cloudflare-access") => {
            if audience.is_empty() {
                return Err("identity \"cloudflare-access\" needs access_aud: the app's Access audience tag(s), e.g. [\"4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2\"]".into());
            }
            if let Some(tag) = audience.iter().find(|tag| {
                tag.is_empty() || tag.len() > 256 || !tag.bytes().all(|b| b.is_ascii_graphic())
            }) {
                return Err(format!(
                    "access_aud {tag:?} is not an audience tag (printable ASCII, no spaces)"
                ));
            }
            Ok(OriginIdentity::CloudflareAccess { audience })
        }
        Some(other) => Err(format!(
            "identity {other:?} is neither \"gatehouse\" nor \"cloudflare-access\""
        )),
    }
}

/// An origin: `service:NAME` for a service binding (NAME as wrangler.toml declares it: letters,
/// digits and `_`), or an absolute `http`/`https` URL without query, fragment or credentials,
/// whose path, if any, is prefixed to every forwarded path. Kept without a trailing slash.
fn validate_origin(origin: &str) -> Result<Origin, String> {
    if let Some(binding) = origin.strip_prefix("service:") {
        let valid = !binding.is_empty()
            && binding
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return if valid {
            Ok(Origin::Service(binding.to_owned()))
        } else {
            Err(format!(
                "origin {origin:?} names no valid service binding (letters, digits and _)"
            ))
        };
    }
    let url =
        url::Url::parse(origin).map_err(|e| format!("origin {origin:?} is not a URL: {e}"))?;
    let fine = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !fine {
        return Err(format!(
            "origin {origin:?} must be an http(s) URL without query, fragment or credentials"
        ));
    }
    Ok(Origin::Url(url.as_str().trim_end_matches('/').to_owned()))
}

fn parse_accounts(text: Option<&str>) -> Result<BTreeMap<String, PasswordHash>, ConfigError> {
    const FIX: &str = "set LOCAL_ACCOUNTS to a JSON object mapping each email to \
                       \"pbkdf2-sha256:<rounds>:<salt>:<hash>\" (README, \"Local accounts\"), or leave it unset";
    let Some(text) = text else {
        return Ok(BTreeMap::new());
    };
    let error = |problem: String| ConfigError {
        setting: "LOCAL_ACCOUNTS",
        problem,
        fix: FIX,
    };
    let raw: BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|e| error(format!("it is not valid: {e}")))?;
    raw.into_iter()
        .map(|(email, hash)| {
            if !email.contains('@') {
                return Err(error(format!("{email:?} is not an email address")));
            }
            let parsed = PasswordHash::parse(&hash).map_err(|e| {
                let part = match e {
                    PasswordHashError::Format => "is not pbkdf2-sha256:<rounds>:<salt>:<hash>",
                    PasswordHashError::Rounds => "has rounds outside 10000..=100000",
                    PasswordHashError::Salt => "has a salt that is not base64url of 16+ bytes",
                    PasswordHashError::Hash => "has a hash that is not base64url of 32+ bytes",
                };
                error(format!("the hash for {email} {part}"))
            })?;
            Ok((email.to_ascii_lowercase(), parsed))
        })
        .collect()
}

/// A setting in seconds: its name, default, the values it may take, and the fix to name.
struct Secs {
    setting: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
    fix: &'static str,
}

fn parse_secs(text: Option<&str>, secs: Secs) -> Result<u64, ConfigError> {
    let Some(text) = text else {
        return Ok(secs.default);
    };
    match text.trim().parse::<u64>() {
        Ok(value) if secs.range.contains(&value) => Ok(value),
        _ => Err(ConfigError {
            setting: secs.setting,
            problem: format!(
                "{text:?} is not a number of seconds between {} and {}",
                secs.range.start(),
                secs.range.end()
            ),
            fix: secs.fix,
        }),
    }
}

/// `AUDIT_RETENTION_DAYS`: unset or empty keeps the audit trail forever. At least 30 days, so
/// that a typo cannot wipe the recent history an incident review needs.
fn parse_audit_retention(text: Option<&str>) -> Result<Option<u64>, ConfigError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(days @ 30..=36_500) => Ok(Some(days * 24 * 3600)),
        _ => Err(ConfigError {
            setting: names::AUDIT_RETENTION_DAYS,
            problem: format!("{text:?} is not a number of days between 30 and 36500"),
            fix: "set it to the days audit events are kept (at least 30), or remove it to keep them forever",
        }),
    }
}

fn parse_admins(text: Option<&str>) -> Result<Option<Policy>, ConfigError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    serde_json::from_str(text).map(Some).map_err(|e| ConfigError {
        setting: "ADMINS",
        problem: format!("it is not a valid policy: {e}"),
        fix: "set ADMINS to a policy like an app's, e.g. {\"allow_emails\":[\"ops@example.com\"]}, or remove it",
    })
}

fn parse_migration(
    settings: Settings<'_>,
) -> Result<Option<crate::migration::Migration>, ConfigError> {
    use crate::migration::{
        MIGRATION_ACCESS_TOKEN_TTL_SECS, MIGRATION_RETRY_AFTER_SECS, Migration,
    };
    match settings.migration_mode.map(str::trim) {
        None | Some("" | "off") => return Ok(None),
        Some("on") => {}
        Some(other) => {
            return Err(ConfigError {
                setting: "MIGRATION_MODE",
                problem: format!("{other:?} is neither \"on\" nor \"off\""),
                fix: "set MIGRATION_MODE to \"on\" while the database is being moved, and to \"off\" (or remove it) afterwards",
            });
        }
    }
    Ok(Some(Migration {
        retry_after_secs: parse_secs(
            settings.migration_retry_after_secs,
            Secs {
                setting: "MIGRATION_RETRY_AFTER_SECS",
                default: MIGRATION_RETRY_AFTER_SECS,
                range: 1..=86_400,
                fix: "set it to the seconds refused clients should wait (default 300), or remove it",
            },
        )?,
        access_token_ttl_secs: parse_secs(
            settings.migration_access_token_ttl_secs,
            Secs {
                setting: "MIGRATION_ACCESS_TOKEN_TTL_SECS",
                default: MIGRATION_ACCESS_TOKEN_TTL_SECS,
                // No longer than the denylist keeps a revoked grant.
                range: 60..=MAX_ACCESS_TOKEN_TTL_SECS,
                fix: "set it to the lifetime of access tokens issued during the migration, at most 86400 (default 14400), or remove it",
            },
        )?,
    }))
}

fn parse_admin_token(text: Option<&str>) -> Result<Option<crate::secret::SecretHash>, ConfigError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(token) if token.chars().count() < MIN_SECRET_CHARS => Err(ConfigError {
            setting: "ADMIN_TOKEN",
            problem: "it is shorter than 32 characters".into(),
            fix: "run `openssl rand -base64 48 | npx wrangler secret put ADMIN_TOKEN`, or delete the secret to turn the admin API off",
        }),
        // It travels as a bearer token (RFC 6750 §2.1 `b64token`), so only those characters.
        Some(token)
            if crate::gatekeeper::request::bearer_token(Some(&format!("Bearer {token}")))
                != Ok(Some(token)) =>
        {
            Err(ConfigError {
                setting: "ADMIN_TOKEN",
                problem: "it has characters a bearer token cannot carry".into(),
                fix: "use letters, digits and - . _ ~ + / (base64 output is fine), e.g. `openssl rand -base64 48`",
            })
        }
        Some(token) => Ok(Some(
            crate::secret::AdminToken::from_presented(token).hash(),
        )),
    }
}

/// The current secret and, during a rotation, the previous one. A previous secret equal to the
/// current one is allowed: it is what the Worker runs with between the operator's two
/// `wrangler secret put`s (README "Rotating `GATEHOUSE_SECRET`").
fn parse_secret(text: Option<&str>, previous: Option<&str>) -> Result<ServerSecret, ConfigError> {
    let current = parse_one_secret(names::GATEHOUSE_SECRET, text)?;
    let previous = match previous {
        None => None,
        Some(p) if p.trim().is_empty() => None,
        Some(p) => Some(parse_one_secret(names::GATEHOUSE_SECRET_PREVIOUS, Some(p))?),
    };
    Ok(ServerSecret::new(current, previous))
}

fn parse_one_secret(setting: &'static str, text: Option<&str>) -> Result<Vec<u8>, ConfigError> {
    let error = |problem: &str| ConfigError {
        setting,
        problem: problem.into(),
        fix: if setting == names::GATEHOUSE_SECRET {
            "run `openssl rand -base64 48 | npx wrangler secret put GATEHOUSE_SECRET`"
        } else {
            "put the secret GATEHOUSE_SECRET had before the rotation, or remove GATEHOUSE_SECRET_PREVIOUS (`npx wrangler secret delete GATEHOUSE_SECRET_PREVIOUS`)"
        },
    };
    match text {
        None => Err(error("it is not set")),
        Some(s) if s.trim().chars().count() < MIN_SECRET_CHARS => {
            Err(error("it is shorter than 32 characters"))
        }
        Some(s) => Ok(s.trim().as_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests;
