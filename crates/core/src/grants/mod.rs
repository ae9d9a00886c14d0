//! The token endpoint's grants (RFC 6749 §4.1.3 and §6), one module each, and the token
//! response they share (RFC 6749 §5.1).

pub mod authorization_code;
pub mod device_code;
pub mod refresh_token;

use serde::Serialize;

use crate::access_token::{self, AccessTokenClaims};
use crate::audit::AuditKind;
use crate::client_auth::AuthenticatedClient;
use crate::error::Reason;
use crate::form::Form;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::RefreshToken;
use crate::server::Server;
use crate::signer::Signer;
use crate::store::{GrantRecord, RefreshRecord, Store, StoreError};
use crate::time::UnixTime;
use crate::types::{ResourceUri, Scopes};

/// A successful token response (RFC 6749 §5.1). Sent with `Cache-Control: no-store`.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT access token (RFC 9068).
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The rotated refresh token, for clients registered for the refresh grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes granted (RFC 6749 §5.1: required when they differ from those asked for; we
    /// always send them).
    pub scope: String,
}

/// Signs an access token for `grant` with `scopes` and builds the response around it.
pub(crate) async fn respond<S: Store, K: Signer, R: Rng>(
    server: &Server<'_, S, K, R>,
    kind: AuditKind,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    scopes: &Scopes,
    refresh_token: Option<String>,
    now: UnixTime,
) -> Result<TokenResponse, StoreError> {
    // Migration mode stretches lifetimes so that agents come back (and read D1) less often.
    let ttl = server
        .migration()
        .map_or(server.site.app.access_token_ttl_secs, |m| {
            m.access_token_ttl_secs
        });
    let claims = AccessTokenClaims {
        iss: server.site.issuer.clone(),
        sub: grant.person.subject.clone(),
        aud: grant.app.clone(),
        client_id: grant.client_id.as_str().to_owned(),
        scope: scopes.to_string(),
        jti: token_id(server.rng),
        iat: now.0,
        exp: now.plus(ttl).0,
        grant_id: grant.grant_id.as_str().to_owned(),
        email: grant.person.email.clone(),
        groups: grant.person.groups.clone(),
        client_name: client.record().metadata.client_name.clone(),
    };
    let detail = serde_json::json!({ "scope": claims.scope, "jti": claims.jti });
    let event = server.audit_event(
        kind,
        Some(&grant.person.subject),
        Some(&grant.client_id),
        Some(&grant.grant_id),
        detail,
    );
    // Last use and the audit row go to D1 together (one round trip); migration mode writes
    // neither to D1 and holds the event.
    match server.migration() {
        None => {
            server
                .store
                .record_token_use(&grant.grant_id, &event, now)
                .await?
        }
        Some(_) => server.hold_audit(event).await?,
    }
    Ok(TokenResponse {
        access_token: access_token::issue(server.signer, &claims).await?,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token,
        scope: claims.scope,
    })
}

/// The first refresh token of a new grant, for clients registered for the refresh grant.
pub(crate) async fn issue_refresh_token<S: Store, K: Signer, R: Rng>(
    server: &Server<'_, S, K, R>,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    now: UnixTime,
) -> Result<Option<String>, StoreError> {
    if !client.record().metadata.allows(GrantType::RefreshToken) {
        return Ok(None);
    }
    let token = RefreshToken::issue(server.rng);
    let record = RefreshRecord {
        token_hash: token.hash(),
        grant_id: grant.grant_id.clone(),
        expires_at: now.plus(server.site.app.refresh_token_ttl_secs),
        rotated_at: None,
        successor_hash: None,
    };
    server.store.insert_refresh(&record, now).await?;
    Ok(Some(token.expose_secret().to_owned()))
}

/// RFC 8707 §2.2: a `resource` in the token request must be one the grant covers.
pub(crate) fn check_resource_parameter<S, K, R>(
    server: &Server<'_, S, K, R>,
    form: &Form,
    granted: &str,
) -> Result<(), Reason> {
    if let Some(resource) = form.get("resource")? {
        let resource = ResourceUri::parse(resource)?;
        if server.site.resource_for(&resource) != Some(granted) {
            return Err(Reason::ResourceUnknown);
        }
    }
    Ok(())
}

fn token_id(rng: &impl Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    crate::crypto::hex(&bytes)
}
