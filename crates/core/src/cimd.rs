//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP
//! authorization 2025-11-25, "Client ID Metadata Documents"): a client identifies itself by an
//! https URL, and the authorization server fetches its metadata from that URL instead of
//! registering it.
//!
//! Here: the rules for such a `client_id` ([`CimdUrl`]), the SSRF rules for where it may point
//! ([`crate::net`]), the operator's controls ([`CimdPolicy`]), validation of the fetched document
//! (reusing registration's metadata and redirect-URI rules), the cache lifetime taken from the
//! response's caching headers, and [`find_client`], the one place where authorize, token and
//! client authentication look a client up, registered or not.
//!
//! Not here: the outbound rule and the HTTP fetch itself (`crate::net`: [`SafeUrl`] and
//! [`Fetch`], which follows no redirect: draft §4), and the verification of `private_key_jwt` assertions (`crate::client_assertion`).

use serde_json::Value;

use crate::client_assertion::ClientKeys;
use crate::client_auth::AuthMethod;
use crate::config::{App, ConfigError, HostPattern};
use crate::error::Reason;
use crate::http::loopback;
use crate::jose::alg::Alg;
use crate::jose::jwk::JwkSet;
use crate::net::{Fetch, FetchedDocument, InsecureLoopback, SafeUrl, UrlRefused};
use crate::registration::{self, GrantType};
use crate::store::{ClientRecord, ClientSource, ClientStore, Freshness, StoreError};
use crate::tag::{TagKey, Verdict};
use crate::time::UnixTime;
use crate::types::ClientId;

/// The largest document accepted. The draft (§4): "the authorization server MAY impose a size
/// limit on the client metadata document"; 5 KB is the figure it suggests.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// The shortest time a document is cached, even when its response says `no-store`: without a
/// floor, an agent's every request would make us fetch (and anyone could make us fetch often).
pub const MIN_CACHE_SECS: u64 = 300;
/// The longest time a document is cached, whatever its response says: a client that changes
/// its redirect URIs sees them used within a day.
pub const MAX_CACHE_SECS: u64 = 86_400;
/// The lifetime of a document whose response says nothing about caching.
pub const DEFAULT_CACHE_SECS: u64 = MIN_CACHE_SECS;

/// Whether `raw` is meant as a metadata document URL rather than an id we issued: ours never
/// contain `://`.
pub fn is_url_client_id(raw: &str) -> bool {
    raw.contains("://")
}

/// A host pattern of `CIMD_ALLOWED_HOSTS` / `CIMD_DENIED_HOSTS`: `example.com` (that host) or
/// `*.example.com` (any host below it, not the apex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostGlob(String);

impl HostGlob {
    /// Parses one pattern.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let pattern = raw.trim().to_ascii_lowercase();
        let name = pattern.strip_prefix("*.").unwrap_or(&pattern);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.split('.').all(label_ok) {
            Ok(Self(pattern))
        } else {
            Err(format!(
                "{raw:?} is not a host name or \"*.\" followed by one"
            ))
        }
    }

    /// Whether `host` (lowercase) matches.
    pub fn matches(&self, host: &str) -> bool {
        match self.0.strip_prefix("*.") {
            Some(parent) => host
                .strip_suffix(parent)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => self.0 == host,
        }
    }
}

/// The operator's controls over metadata documents (`CIMD`, `CIMD_ALLOWED_HOSTS`,
/// `CIMD_DENIED_HOSTS`, `CIMD_ALLOW_INSECURE_LOOPBACK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CimdPolicy {
    /// Whether URL client ids are accepted at all (`CIMD`, default `on`).
    pub enabled: bool,
    /// When non-empty, only document hosts matching one of these are accepted.
    pub allowed_hosts: Vec<HostGlob>,
    /// Document hosts refused even when allowed.
    pub denied_hosts: Vec<HostGlob>,
    /// Test-only: accept `http://127.0.0.1…`, `http://localhost…` and `http://[::1]…` document
    /// URLs. Refused by configuration unless every app is served on loopback.
    pub insecure_loopback: bool,
}

impl Default for CimdPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed_hosts: Vec::new(),
            denied_hosts: Vec::new(),
            insecure_loopback: false,
        }
    }
}

/// The raw CIMD settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct CimdSettings<'a> {
    /// `CIMD`: `on` (default) or `off`.
    pub cimd: Option<&'a str>,
    /// `CIMD_ALLOWED_HOSTS`: comma-separated host patterns.
    pub allowed_hosts: Option<&'a str>,
    /// `CIMD_DENIED_HOSTS`: comma-separated host patterns.
    pub denied_hosts: Option<&'a str>,
    /// `CIMD_ALLOW_INSECURE_LOOPBACK`: `on` or `off` (default); local tests only.
    pub allow_insecure_loopback: Option<&'a str>,
}

impl CimdPolicy {
    /// Parses the settings. The insecure loopback switch is refused unless every app is served
    /// on loopback: a deployed Worker must never fetch plain http.
    pub fn from_settings(settings: CimdSettings<'_>, apps: &[App]) -> Result<Self, ConfigError> {
        let enabled = match settings.cimd.map(str::trim) {
            None | Some("" | "on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError {
                    setting: "CIMD",
                    problem: format!("{other:?} is neither \"on\" nor \"off\""),
                    fix: "set CIMD to \"on\" (the default) to accept Client ID Metadata Documents, or \"off\" to accept registered clients only",
                });
            }
        };
        let insecure_loopback = match settings.allow_insecure_loopback.map(str::trim) {
            None | Some("" | "off") => false,
            Some("on") => true,
            Some(other) => {
                return Err(ConfigError {
                    setting: "CIMD_ALLOW_INSECURE_LOOPBACK",
                    problem: format!("{other:?} is neither \"on\" nor \"off\""),
                    fix: "remove CIMD_ALLOW_INSECURE_LOOPBACK; it exists for local tests only",
                });
            }
        };
        if insecure_loopback && !apps.iter().all(|app| is_loopback_app(&app.host)) {
            return Err(ConfigError {
                setting: "CIMD_ALLOW_INSECURE_LOOPBACK",
                problem: "it is on while an app is served on a public host".into(),
                fix: "remove CIMD_ALLOW_INSECURE_LOOPBACK: it lets gatehouse fetch plain-http documents from this machine and is honoured only in local development, where every app's host is \"*\" or loopback",
            });
        }
        Ok(Self {
            enabled,
            allowed_hosts: host_globs(settings.allowed_hosts, "CIMD_ALLOWED_HOSTS")?,
            denied_hosts: host_globs(settings.denied_hosts, "CIMD_DENIED_HOSTS")?,
            insecure_loopback,
        })
    }

    fn admits_host(&self, host: &str) -> bool {
        !self.denied_hosts.iter().any(|g| g.matches(host))
            && (self.allowed_hosts.is_empty() || self.allowed_hosts.iter().any(|g| g.matches(host)))
    }
}

fn is_loopback_app(host: &HostPattern) -> bool {
    match host {
        HostPattern::AnyLoopback => true,
        HostPattern::Exact(h) => loopback::is_loopback_host(h),
    }
}

fn host_globs(text: Option<&str>, setting: &'static str) -> Result<Vec<HostGlob>, ConfigError> {
    text.unwrap_or_default()
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            HostGlob::parse(p).map_err(|problem| ConfigError {
                setting,
                problem,
                fix: "list host patterns separated by commas, e.g. \"agents.example.com,*.example.org\"",
            })
        })
        .collect()
}

/// A `client_id` that is a metadata document URL, checked against the draft's §3 rules, the
/// SSRF rules and the operator's host patterns. Only [`CimdUrl::parse`] builds one, so a URL the
/// Worker fetches has passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CimdUrl {
    raw: String,
    url: SafeUrl,
}

impl CimdUrl {
    /// Parses a client id or a redirect target.
    ///
    /// Draft §3: "Client identifier URLs MUST have an "https" scheme, MUST contain a path
    /// component, MUST NOT contain single-dot or double-dot path segments, MAY contain a query
    /// string component, MUST NOT contain a fragment component and MUST NOT contain a username
    /// or password." We also require the URL in canonical form (what the WHATWG parser prints),
    /// so that one client has one id.
    pub fn parse(raw: &str, policy: &CimdPolicy) -> Result<Self, Reason> {
        if !policy.enabled {
            return Err(Reason::CimdDisabled);
        }
        let url = url::Url::parse(raw).map_err(|_| Reason::CimdUrlInvalid)?;
        let has_dot_segment = raw
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .split('/')
            .skip(3)
            .any(|s| {
                matches!(
                    s.to_ascii_lowercase().as_str(),
                    "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
                )
            });
        if url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
            || has_dot_segment
            || url.path() == "/"
            || url.as_str() != raw
        {
            return Err(Reason::CimdUrlInvalid);
        }
        let loopback = if policy.insecure_loopback {
            InsecureLoopback::Allowed
        } else {
            InsecureLoopback::Refused
        };
        let safe = SafeUrl::parse(raw, loopback).map_err(|refused| match refused {
            UrlRefused::Invalid | UrlRefused::Scheme => Reason::CimdUrlInvalid,
            UrlRefused::Address => Reason::CimdAddressRefused,
        })?;
        if !policy.admits_host(url.host_str().unwrap_or_default()) {
            return Err(Reason::CimdHostNotAllowed);
        }
        Ok(Self {
            raw: raw.to_owned(),
            url: safe,
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The URL, which passed the outbound rule: what the platform fetches.
    pub fn safe(&self) -> &SafeUrl {
        &self.url
    }

    /// The host, as the consent page shows it.
    pub fn host(&self) -> &str {
        self.url.url().host_str().unwrap_or_default()
    }

    /// The cache key: `cimd:` and the URL's SHA-256 in hex.
    pub fn cache_key(&self) -> String {
        format!("cimd:{}", crate::crypto::sha256_hex(self.raw.as_bytes()))
    }
}

/// The host of a metadata document client id, for pages that show who a client is.
pub fn document_host(client_id: &ClientId) -> Option<String> {
    is_url_client_id(client_id.as_str())
        .then(|| url::Url::parse(client_id.as_str()).ok())
        .flatten()
        .and_then(|u| u.host_str().map(str::to_owned))
}

/// Fetching and caching metadata documents. The Worker implements it with `fetch` ([`Fetch`]:
/// redirects come back as responses and are refused; [`crate::net::TIMEOUT_MS`]; body capped)
/// and KV; native tests in memory.
#[allow(async_fn_in_trait)]
pub trait MetadataDocuments: Fetch {
    /// A cached document body, if one is live at `now`.
    async fn cached_document(
        &self,
        url: &CimdUrl,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Caches a validated document body for `ttl_secs` from `now` (at least
    /// `KV_MIN_TTL_SECS`, which [`cache_ttl`] guarantees).
    async fn cache_document(
        &self,
        url: &CimdUrl,
        body: &[u8],
        ttl_secs: u64,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Records a client assertion's `jti` (hashed with the client id) until `expires_at`, in one
    /// atomic step. `true` when it was not already recorded (RFC 7523 §3 item 7: single use).
    async fn use_assertion_id(
        &self,
        jti_hash: &crate::secret::SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Whether an operator disabled this document client (admin API): its document no longer
    /// counts.
    async fn document_client_disabled(&self, client_id: &ClientId) -> Result<bool, StoreError>;
    /// Records the client (insert, or refresh its metadata) so that grants and consents can
    /// name it; called when a person approves it.
    async fn remember_document_client(
        &self,
        client: &ClientRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}

/// Why a client lookup failed.
#[derive(Debug)]
pub enum LookupError {
    /// The client id is refused; the reason says why.
    Refused(Reason),
    /// Storage failed.
    Store(StoreError),
}

/// What a client lookup needs besides storage: the metadata document rules and the key that
/// tags registered client ids ([`crate::identifiers`]).
#[derive(Clone, Copy, Debug)]
pub struct ClientLookup<'a> {
    /// Client ID Metadata Document rules.
    pub cimd: &'a CimdPolicy,
    /// The key of registered clients' ids.
    pub ids: &'a TagKey,
}

/// The client behind `client_id`: a registered client from the store, or, for an https URL, a
/// client described by the metadata document fetched from it (or cached). `Ok(None)` when no
/// registered client has the id.
///
/// A registered id is looked up only when gatehouse issued it (its tag matches) or when the store
/// lists it among the clients whose ids carry no tag (registered before tags, or inserted by the
/// operator): a made-up id costs no round trip ([`crate::identifiers`]). A registered client is
/// read as current as `freshness` asks ([`crate::store::Freshness`]).
pub async fn find_client(
    store: &(impl ClientStore + MetadataDocuments),
    lookup: ClientLookup<'_>,
    client_id: &ClientId,
    now: UnixTime,
    freshness: Freshness,
) -> Result<Option<ClientRecord>, LookupError> {
    let policy = lookup.cimd;
    if !is_url_client_id(client_id.as_str()) {
        let may_exist = match lookup.ids.verdict(client_id.as_str()) {
            Verdict::Issued => true,
            Verdict::Forged => false,
            Verdict::Untagged => store
                .untagged_client_may_exist(client_id, now)
                .await
                .map_err(LookupError::Store)?,
        };
        if !may_exist {
            return Ok(None);
        }
        return freshness
            .read(|from| store.client(client_id, now, from))
            .await
            .map_err(LookupError::Store);
    }
    let url = CimdUrl::parse(client_id.as_str(), policy).map_err(LookupError::Refused)?;
    if store
        .document_client_disabled(client_id)
        .await
        .map_err(LookupError::Store)?
    {
        return Ok(None);
    }
    let cached = store
        .cached_document(&url, now)
        .await
        .map_err(LookupError::Store)?;
    // A cached body is validated again: the rules may have changed since it was stored.
    if let Some(record) = cached.and_then(|body| client_record(&url, &body, policy, now).ok()) {
        return Ok(Some(record));
    }
    let response = fetch(store, &url).await.map_err(LookupError::Refused)?;
    let record = client_record(&url, &response.body, policy, now).map_err(LookupError::Refused)?;
    let ttl = cache_ttl(
        response.cache_control.as_deref(),
        response.expires.as_deref(),
        now,
    );
    store
        .cache_document(&url, &response.body, ttl, now)
        .await
        .map_err(LookupError::Store)?;
    Ok(Some(record))
}

/// Fetches `url` once. Draft §4 (-01; §5 in -02): "A successful response MUST use the 200 OK
/// HTTP status code, have the content type of `application/json` or a more specific content
/// type that conforms to `application/<AS-defined>+json` [...] The authorization server MUST
/// treat all other HTTP status codes and content types as an error response. The
/// authorization server MUST NOT automatically follow HTTP redirects". So a redirect, to an
/// internal address or anywhere else, is never followed.
pub(crate) async fn fetch(
    fetcher: &impl MetadataDocuments,
    url: &CimdUrl,
) -> Result<FetchedDocument, Reason> {
    let response = fetcher
        .get(url.safe(), MAX_DOCUMENT_BYTES)
        .await
        .map_err(|_| Reason::CimdFetchFailed)?;
    let essence = response
        .content_type
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if response.status == 200 && json {
        Ok(response)
    } else {
        Err(Reason::CimdFetchFailed)
    }
}

/// Validates a document fetched from `url` and turns it into a client record.
///
/// Draft §4.1: the document's `client_id` MUST equal the URL (simple string comparison);
/// it MUST NOT contain `client_secret` or `client_secret_expires_at`; symmetric-secret auth
/// methods are not allowed. The remaining metadata passes registration's validation (same
/// redirect-URI and field rules), with `none` as the default auth method. `private_key_jwt`
/// needs exactly one of `jwks_uri` (held to the same URL rules) and `jwks` (P-256 keys).
pub fn client_record(
    url: &CimdUrl,
    body: &[u8],
    policy: &CimdPolicy,
    now: UnixTime,
) -> Result<ClientRecord, Reason> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(Reason::CimdDocumentInvalid);
    }
    let Ok(Value::Object(mut document)) = serde_json::from_slice::<Value>(body) else {
        return Err(Reason::CimdDocumentInvalid);
    };
    if document.get("client_id").and_then(Value::as_str) != Some(url.as_str()) {
        return Err(Reason::CimdClientIdMismatch);
    }
    if document.contains_key("client_secret") || document.contains_key("client_secret_expires_at") {
        return Err(Reason::CimdDocumentInvalid);
    }
    let method = document
        .remove("token_endpoint_auth_method")
        .unwrap_or_else(|| Value::String("none".into()));
    let keys = match (
        method.as_str(),
        document.remove("jwks_uri"),
        document.remove("jwks"),
    ) {
        (Some("none"), None, None) => None,
        (Some("private_key_jwt"), Some(Value::String(uri)), None) => {
            CimdUrl::parse(&uri, policy)?;
            Some(ClientKeys::JwksUri(uri))
        }
        (Some("private_key_jwt"), None, Some(jwks)) => Some(ClientKeys::Jwks(
            JwkSet::from_value(&jwks)
                .and_then(|keys| keys.fitting(Alg::Es256))
                .ok_or(Reason::CimdDocumentInvalid)?,
        )),
        _ => return Err(Reason::CimdDocumentInvalid),
    };
    // Registration's rules for the rest; it knows no key-based method, so it sees `none`.
    document.insert("token_endpoint_auth_method".into(), "none".into());
    let bytes = serde_json::to_vec(&document).map_err(|_| Reason::CimdDocumentInvalid)?;
    let mut metadata = registration::validate(&bytes).map_err(|e| match e.field {
        "redirect_uris" => e.reason,
        _ => Reason::CimdDocumentInvalid,
    })?;
    if keys.is_some() {
        metadata.token_endpoint_auth_method = AuthMethod::PrivateKeyJwt;
        metadata.keys = keys;
    }
    // A document client redirects: only the code grant and refresh.
    if !metadata.allows(GrantType::AuthorizationCode) || metadata.allows(GrantType::DeviceCode) {
        return Err(Reason::CimdDocumentInvalid);
    }
    Ok(ClientRecord {
        client_id: ClientId::parse(url.as_str()).map_err(|_| Reason::CimdUrlInvalid)?,
        secret_hash: None,
        metadata,
        source: ClientSource::MetadataDocument,
        created_at: now,
        expires_at: None,
    })
}

/// How long to cache a document: `Cache-Control: max-age` (RFC 9111 §5.2.2.1), else `Expires`
/// (§5.3) relative to `now`, else [`DEFAULT_CACHE_SECS`]; `no-store` and `no-cache` mean the
/// shortest time. Always within [`MIN_CACHE_SECS`]..=[`MAX_CACHE_SECS`].
pub fn cache_ttl(cache_control: Option<&str>, expires: Option<&str>, now: UnixTime) -> u64 {
    let directives: Vec<String> = cache_control
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    let secs = if directives
        .iter()
        .any(|d| d == "no-store" || d == "no-cache")
    {
        MIN_CACHE_SECS
    } else if let Some(max_age) = directives.iter().find_map(|d| d.strip_prefix("max-age=")) {
        // §5.2.2.1: an invalid max-age means stale (the shortest time here).
        max_age
            .trim_matches('"')
            .parse::<u64>()
            .unwrap_or(MIN_CACHE_SECS)
    } else if let Some(expires) = expires {
        httpdate::parse_http_date(expires.trim())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(MIN_CACHE_SECS, |t| t.as_secs().saturating_sub(now.0))
    } else {
        DEFAULT_CACHE_SECS
    };
    secs.clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
}

#[cfg(test)]
mod tests;
