//! A client as gatehouse knows it: its registration record, its metadata (RFC 7591 §2,
//! Client ID Metadata Documents), how it authenticates (RFC 7591 §2
//! `token_endpoint_auth_method`) and where its keys are (RFC 7517).
//!
//! Records only: validating metadata is `crate::registration`'s, authenticating a client
//! `crate::client_auth`'s, verifying its assertions `crate::client_assertion`'s.

use serde::{Deserialize, Serialize};

use crate::jose::jwk::JwkSet;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::{ClientId, RedirectUri, Scopes};

/// How a client came to be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientSource {
    /// Registered through `POST /oauth/register` (RFC 7591).
    Dynamic,
    /// Described by the Client ID Metadata Document at its `client_id` URL (`crate::cimd`).
    MetadataDocument,
}

impl ClientSource {
    /// The value stored in `clients.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's identifier.
    pub client_id: ClientId,
    /// The hash of its secret; `None` for a public client.
    pub secret_hash: Option<SecretHash>,
    /// The validated metadata it registered.
    pub metadata: ClientMetadata,
    /// How it came to be known.
    pub source: ClientSource,
    /// When it was registered.
    pub created_at: UnixTime,
    /// When an unused registration lapses; `None` once it has been used.
    pub expires_at: Option<UnixTime>,
}

/// A client and its use, for the admin console (`crate::store::ClientStore::clients_in_use`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClientUse {
    /// The client.
    pub client_id: String,
    /// Its registered `client_name`, if any.
    pub client_name: Option<String>,
    /// `dynamic`, `static` or `metadata_document` (`clients.source`).
    pub source: String,
    /// When it was registered or first approved (Unix seconds).
    pub created_at: u64,
    /// When it last obtained tokens under any grant (Unix seconds).
    pub last_used_at: Option<u64>,
    /// When an admin disabled it (Unix seconds).
    pub disabled_at: Option<u64>,
    /// People holding a live grant for it, at every app.
    pub people: u64,
    /// Its live grants, at every app.
    pub live_grants: u64,
}

/// A grant type a client may register (RFC 7591 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 8628 §3.4.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

/// Validated client metadata, as stored and as returned (RFC 7591 §3.2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Where codes may be sent.
    pub redirect_uris: Vec<RedirectUri>,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: AuthMethod,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// Always `["code"]`.
    pub response_types: Vec<String>,
    /// The name shown on the consent page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// The client's home page (https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// The scopes the client registered (RFC 7591 §2), echoed in the registration response; they
    /// do not narrow its authorizations (`authorize::check_scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scopes>,
    /// People responsible for the client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// The client software's identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// The client software's version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// The keys of a `private_key_jwt` client (metadata documents only; registration refuses
    /// `jwks` and `jwks_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<ClientKeys>,
}

impl ClientMetadata {
    /// Whether the client registered this grant type.
    pub fn allows(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }
}

/// The registered client authentication method (RFC 7591 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: no secret.
    None,
    /// HTTP Basic with the URL-encoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 §2.2, OIDC Core §9); metadata
    /// document clients only.
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Whether the client authenticates (a secret or a key), rather than only naming itself.
    pub fn is_confidential(self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether the client authenticates with a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
    }
}

/// Where a `private_key_jwt` client's keys are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKeys {
    /// Fetched from this URL (held to the metadata document URL rules).
    JwksUri(String),
    /// Given inline in the document: its P-256 signature keys.
    Jwks(JwkSet),
}
