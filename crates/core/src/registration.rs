//! Dynamic client registration (RFC 7591): validates client metadata, issues the client id and,
//! for confidential clients, a secret that is returned once and stored only as a hash.
//!
//! RFC 7591 §2: "The authorization server MUST ignore any client metadata sent by the client
//! that it does not understand" — unknown fields are dropped, known ones are validated strictly.
//! Not supported (refused as `invalid_client_metadata`): `private_key_jwt`, `jwks`, `jwks_uri`,
//! grant types other than `authorization_code`, `refresh_token` and the device code grant
//! (RFC 8628 §3.4), response types other than `code`.
//!
//! A device-only client (`grant_types` without `authorization_code`) never receives a redirect:
//! it registers no `redirect_uris` and no `response_types` (both omitted or empty), since a
//! registered redirect URI would be one the authorization endpoint could send codes to; a list
//! that is not empty is refused with its own reason ([`Reason::RedirectUrisWithoutCodeGrant`]).
//!
//! Text shown to people (`client_name`, `contacts`, `software_id`, `software_version`) may not
//! contain control, format (bidirectional overrides, zero-width characters, the byte order mark)
//! or separator characters other than the space: see [`is_hidden_char`].

use serde::{Deserialize, Serialize};

use crate::client_auth::AuthMethod;
use crate::error::Reason;
use crate::rng::Rng;
use crate::secret::ClientSecret;
use crate::store::{ClientRecord, ClientSource};
use crate::tag::TagKey;
use crate::time::UnixTime;
use crate::types::{ClientId, RedirectUri, Scopes};

pub use crate::model::client::{ClientMetadata, GrantType};

/// Largest registration request body accepted (413 beyond it).
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 10;
/// Longest client name, in characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 100;
/// Longest `client_uri`, `software_id` or `software_version`, in bytes.
const MAX_FIELD_BYTES: usize = 2000;
/// Most contacts.
const MAX_CONTACTS: usize = 5;
/// An unused registration lapses after this long (it is kept once it completes an authorization).
pub const UNUSED_CLIENT_TTL_SECS: u64 = 24 * 3600;
/// Registrations allowed per source network per hour.
pub const MAX_REGISTRATIONS_PER_HOUR: u64 = 30;

/// The request body, before validation. Every field is optional and loosely typed so that the
/// error names the field rather than a JSON type mismatch.
#[derive(Deserialize)]
struct RegistrationRequest {
    redirect_uris: Option<serde_json::Value>,
    token_endpoint_auth_method: Option<serde_json::Value>,
    grant_types: Option<serde_json::Value>,
    response_types: Option<serde_json::Value>,
    client_name: Option<serde_json::Value>,
    client_uri: Option<serde_json::Value>,
    scope: Option<serde_json::Value>,
    contacts: Option<serde_json::Value>,
    software_id: Option<serde_json::Value>,
    software_version: Option<serde_json::Value>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<serde_json::Value>,
}

/// A validation failure: the RFC 7591 §3.2.2 code is `invalid_redirect_uri` for the redirect
/// URIs and `invalid_client_metadata` for everything else; `field` says which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataError {
    /// Why.
    pub reason: Reason,
    /// The offending field, for the error description.
    pub field: &'static str,
}

fn bad(field: &'static str) -> MetadataError {
    MetadataError {
        reason: Reason::ClientMetadataInvalid,
        field,
    }
}

/// Validates a registration request body.
pub fn validate(body: &[u8]) -> Result<ClientMetadata, MetadataError> {
    if body.len() > MAX_REGISTRATION_BYTES {
        return Err(MetadataError {
            reason: Reason::BodyTooLarge,
            field: "body",
        });
    }
    // RFC 7591 §3.2.2: a body that is not a JSON object is invalid client metadata.
    let request: RegistrationRequest = serde_json::from_slice(body).map_err(|_| bad("body"))?;
    if request.jwks.is_some() || request.jwks_uri.is_some() {
        return Err(bad("jwks"));
    }
    let token_endpoint_auth_method = match optional_string(
        request.token_endpoint_auth_method,
        "token_endpoint_auth_method",
    )? {
        // RFC 7591 §2: "If unspecified or omitted, the default is client_secret_basic".
        None => AuthMethod::ClientSecretBasic,
        Some(method) => serde_json::from_value(serde_json::Value::String(method))
            .map_err(|_| bad("token_endpoint_auth_method"))?,
    };
    // Key-based authentication needs keys, which registration does not take.
    if token_endpoint_auth_method == AuthMethod::PrivateKeyJwt {
        return Err(bad("token_endpoint_auth_method"));
    }
    let grant_types = grant_types(request.grant_types)?;
    let redirects = grant_types.contains(&GrantType::AuthorizationCode);
    let response_types = string_list(request.response_types, "response_types", 4)?;
    let response_types = match (redirects, response_types) {
        (true, None) => vec!["code".into()],
        (true, Some(types)) if types == ["code"] => types,
        // RFC 7591 §2.1: `code` goes with `authorization_code` only.
        (false, None) => Vec::new(),
        (false, Some(types)) if types.is_empty() => types,
        _ => return Err(bad("response_types")),
    };
    let client_name = optional_string(request.client_name, "client_name")?;
    if let Some(name) = &client_name {
        display_text(name, MAX_CLIENT_NAME_CHARS, "client_name")?;
    }
    let client_uri = optional_string(request.client_uri, "client_uri")?;
    if client_uri.as_ref().is_some_and(|u| !is_https_url(u)) {
        return Err(bad("client_uri"));
    }
    // RFC 7591 §2 "scope": "If omitted, an authorization server MAY register a client with a
    // default set of scopes." An empty string (the MCP Inspector and Gemini CLI send `""` when
    // they know no scope) is registered as an omitted one, not as an empty list. The registered
    // scope does not narrow authorizations (`authorize::check_scope` says why).
    let scope = optional_string(request.scope, "scope")?
        .filter(|s| !s.is_empty())
        .map(|s| Scopes::parse(&s).map_err(|_| bad("scope")))
        .transpose()?;
    let contacts = string_list(request.contacts, "contacts", MAX_CONTACTS)?.unwrap_or_default();
    for contact in &contacts {
        display_text(contact, 320, "contacts")?;
    }
    let software_id = bounded(
        optional_string(request.software_id, "software_id")?,
        "software_id",
    )?;
    let software_version = bounded(
        optional_string(request.software_version, "software_version")?,
        "software_version",
    )?;
    let redirect_uris = redirect_uris(request.redirect_uris, redirects)?;
    if token_endpoint_auth_method.is_confidential()
        && redirect_uris.iter().any(RedirectUri::needs_public_client)
    {
        return Err(MetadataError {
            reason: Reason::RedirectUriNeedsPublicClient,
            field: "redirect_uris",
        });
    }
    Ok(ClientMetadata {
        redirect_uris,
        token_endpoint_auth_method,
        grant_types,
        response_types,
        client_name,
        client_uri,
        scope,
        contacts,
        software_id,
        software_version,
        keys: None,
    })
}

/// The redirect URIs: required for the authorization code grant, which redirects (RFC 7591 §2,
/// "redirect_uris"); refused for a device-only client, which never receives a redirect.
fn redirect_uris(
    value: Option<serde_json::Value>,
    redirects: bool,
) -> Result<Vec<RedirectUri>, MetadataError> {
    let invalid = |reason| MetadataError {
        reason,
        field: "redirect_uris",
    };
    if !redirects {
        return match value {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::Array(items)) if items.is_empty() => Ok(Vec::new()),
            Some(_) => Err(invalid(Reason::RedirectUrisWithoutCodeGrant)),
        };
    }
    let uris = string_list(value, "redirect_uris", MAX_REDIRECT_URIS)
        .map_err(|_| invalid(Reason::RedirectUriInvalid))?
        .ok_or(invalid(Reason::RedirectUriInvalid))?;
    if uris.is_empty() {
        return Err(invalid(Reason::RedirectUriInvalid));
    }
    uris.iter()
        .map(|u| RedirectUri::parse(u).map_err(invalid))
        .collect()
}

fn grant_types(value: Option<serde_json::Value>) -> Result<Vec<GrantType>, MetadataError> {
    let Some(names) = string_list(value, "grant_types", 4)? else {
        // RFC 7591 §2: "If omitted, the default behavior is that the client will use only the
        // authorization_code Grant Type."
        return Ok(vec![GrantType::AuthorizationCode]);
    };
    let mut types = names
        .into_iter()
        .map(|n| {
            serde_json::from_value(serde_json::Value::String(n)).map_err(|_| bad("grant_types"))
        })
        .collect::<Result<Vec<GrantType>, _>>()?;
    types.sort();
    types.dedup();
    // A client must be able to obtain a first grant: by a code or on a device.
    if !types.contains(&GrantType::AuthorizationCode) && !types.contains(&GrantType::DeviceCode) {
        return Err(bad("grant_types"));
    }
    Ok(types)
}

fn optional_string(
    value: Option<serde_json::Value>,
    field: &'static str,
) -> Result<Option<String>, MetadataError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(field)),
    }
}

fn string_list(
    value: Option<serde_json::Value>,
    field: &'static str,
    max: usize,
) -> Result<Option<Vec<String>>, MetadataError> {
    let items = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Array(items)) if items.len() <= max => items,
        Some(_) => return Err(bad(field)),
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(bad(field)),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn bounded(value: Option<String>, field: &'static str) -> Result<Option<String>, MetadataError> {
    if let Some(v) = &value {
        display_text(v, MAX_FIELD_BYTES, field)?;
    }
    Ok(value)
}

/// Text shown to people: non-empty after trimming, bounded, and without a character that
/// hides or reorders what a person reads ([`is_hidden_char`]).
fn display_text(text: &str, max_chars: usize, field: &'static str) -> Result<(), MetadataError> {
    if text.trim().is_empty() || text.chars().count() > max_chars {
        Err(bad(field))
    } else if text.chars().any(is_hidden_char) {
        Err(MetadataError {
            reason: Reason::ClientMetadataHiddenCharacter,
            field,
        })
    } else {
        Ok(())
    }
}

/// Whether `c` would hide or reorder the text around it on a consent page, so that a name
/// reads as something it is not ("Claude Code\u{202E}…" displayed backwards, "Cla\u{200B}ude"
/// looking like "Claude"): control characters (Unicode category Cc), the format characters of
/// category Cf (the bidirectional embeddings, overrides and isolates U+202A–U+202E and
/// U+2066–U+2069, the marks U+200E, U+200F and U+061C, zero-width U+200B–U+200D and U+2060–
/// U+2064, the byte order mark U+FEFF, the soft hyphen U+00AD, tag characters U+E0000–U+E007F,
/// …), the line and paragraph separators U+2028 and U+2029, every space but U+0020, the
/// invisible fillers U+034F, U+115F, U+1160, U+3164 and U+FFA0, variation selectors other
/// than the emoji one (U+FE0F), and noncharacters. Unicode Technical Standard #39 §3.1 lists
/// these among the characters to restrict in identifiers shown to people.
pub fn is_hidden_char(c: char) -> bool {
    let code = u32::from(c);
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            code,
            0x00AD
                | 0x034F
                | 0x061C
                | 0x115F
                | 0x1160
                | 0x17B4
                | 0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x202A..=0x202E
                | 0x2060..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0E
                | 0xFEFF
                | 0xFFA0
                | 0xFFF0..=0xFFFB
                | 0xFDD0..=0xFDEF
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0000..=0xE0FFF
        )
        || code & 0xFFFE == 0xFFFE
        || matches!(
            code,
            0x0600..=0x0605 | 0x06DD | 0x070F | 0x08E2 | 0x110BD | 0x110CD
        )
}

/// `text` with every [`is_hidden_char`] replaced by U+FFFD, for names stored before the rule
/// (a consent page never shows a hidden character).
pub fn neutralise_hidden_chars(text: &str) -> String {
    text.chars()
        .map(|c| if is_hidden_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

fn is_https_url(text: &str) -> bool {
    text.len() <= MAX_FIELD_BYTES
        && !text.chars().any(|c| c.is_control() || c.is_whitespace())
        && url::Url::parse(text).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
}

/// The network a registration came from, for the rate limit: the IPv4 address, or the IPv6
/// /64 prefix (one host usually owns a whole /64, so counting addresses would count nothing).
pub fn source_network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
        Err(_) => "unknown".to_owned(),
    }
}

/// A client just registered: the record to store and the secret to return once.
#[derive(Debug)]
pub struct Registered {
    /// What to store.
    pub record: ClientRecord,
    /// The secret, for confidential clients; never stored.
    pub secret: Option<ClientSecret>,
}

/// Creates the client: a fresh id, tagged with `ids`, and a fresh secret for confidential
/// clients.
pub fn register(
    metadata: ClientMetadata,
    ids: &TagKey,
    rng: &impl Rng,
    now: UnixTime,
) -> Registered {
    let secret = metadata
        .token_endpoint_auth_method
        .is_confidential()
        .then(|| ClientSecret::issue(rng));
    let client_id = ClientId::issue(ids, rng);
    Registered {
        record: ClientRecord {
            client_id,
            secret_hash: secret.as_ref().map(ClientSecret::hash),
            metadata,
            source: ClientSource::Dynamic,
            created_at: now,
            expires_at: Some(now.plus(UNUSED_CLIENT_TTL_SECS)),
        },
        secret,
    }
}

/// The registration response (RFC 7591 §3.2.1): the metadata as registered, plus the id and,
/// once, the secret.
#[derive(Serialize)]
pub struct RegistrationResponse<'a> {
    /// The new client id.
    pub client_id: &'a str,
    /// The secret, for confidential clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<&'a str>,
    /// When the id was issued.
    pub client_id_issued_at: u64,
    /// `0`: the secret does not expire (RFC 7591 §3.2.1). Present only with a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// The registered metadata.
    #[serde(flatten)]
    pub metadata: &'a ClientMetadata,
}

impl Registered {
    /// The response body for this registration.
    pub fn response(&self) -> RegistrationResponse<'_> {
        RegistrationResponse {
            client_id: self.record.client_id.as_str(),
            client_secret: self.secret.as_ref().map(ClientSecret::expose_secret),
            client_id_issued_at: self.record.created_at.0,
            client_secret_expires_at: self.secret.as_ref().map(|_| 0),
            metadata: &self.record.metadata,
        }
    }
}

pub(crate) mod endpoint;

#[cfg(test)]
mod tests;
