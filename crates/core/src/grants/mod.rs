//! The token endpoint's grants (RFC 6749 §4.1.3 and §6), one module each, and the token
//! response they share (RFC 6749 §5.1).

pub mod authorization_code;
pub mod device_code;
pub mod live;
pub mod refresh_token;

use serde::Serialize;

use crate::access_token::{self, AccessTokenClaims};
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::error::Reason;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::RefreshToken;
use crate::store::{GrantRecord, Issuance, RefreshRecord, RefreshWrite, Store, StoreError};
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

/// The refresh token a token response carries, and the write that stores it.
#[derive(Clone, Copy)]
pub(crate) struct Refresh<'a> {
    token: Option<&'a RefreshToken>,
    write: RefreshWrite<'a>,
}

impl<'a> Refresh<'a> {
    /// No refresh token.
    pub(crate) const NONE: Refresh<'static> = Refresh {
        token: None,
        write: RefreshWrite::None,
    };

    /// A token sent by a refresh ([`refresh_token`]), which stored it; nothing more is written.
    pub(crate) fn sent(token: &'a RefreshToken) -> Self {
        Self {
            token: Some(token),
            write: RefreshWrite::None,
        }
    }
}

/// The first refresh token of a new grant, for clients registered for the refresh grant.
pub(crate) struct FirstRefreshToken(Option<(RefreshToken, RefreshRecord)>);

impl FirstRefreshToken {
    /// No token: the client is not registered for the refresh grant.
    pub(crate) const NONE: Self = Self(None);

    /// Draws the token if `client` uses refresh tokens; it is stored with the issuance
    /// ([`respond`]).
    pub(crate) fn issue<S, K, R: Rng>(
        cx: &Context<'_, S, K, R>,
        client: &AuthenticatedClient,
        grant_id: &GrantId,
        now: UnixTime,
    ) -> Self {
        if !client.record().metadata.allows(GrantType::RefreshToken) {
            return Self::NONE;
        }
        Self::draw(cx, grant_id, now)
    }

    /// Draws the token, for a client not known yet to use refresh tokens: its storage is
    /// conditioned on it, and it is sent only then.
    pub(crate) fn draw<S, K, R: Rng>(
        cx: &Context<'_, S, K, R>,
        grant_id: &GrantId,
        now: UnixTime,
    ) -> Self {
        let token = refresh_token::issue(cx, grant_id);
        let record = RefreshRecord {
            token_hash: token.hash(),
            grant_id: grant_id.clone(),
            expires_at: now.plus(cx.site.app.refresh_token_ttl_secs),
            rotated_at: None,
            successor_hash: None,
        };
        Self(Some((token, record)))
    }

    /// The record to store, if there is a token.
    pub(crate) fn record(&self) -> Option<&RefreshRecord> {
        self.0.as_ref().map(|(_, record)| record)
    }

    /// The token to send, once storage has stored it ([`Self::record`]).
    pub(crate) fn stored(&self) -> Refresh<'_> {
        match &self.0 {
            Some((token, _)) => Refresh::sent(token),
            None => Refresh::NONE,
        }
    }

    /// The token to send and its insert.
    pub(crate) fn issued(&self) -> Refresh<'_> {
        match &self.0 {
            Some((token, record)) => Refresh {
                token: Some(token),
                write: RefreshWrite::Insert(record),
            },
            None => Refresh::NONE,
        }
    }
}

/// Signs an access token for `grant` with `scopes` and builds the response around it. The
/// grant's last use, the audit event and the refresh token are written in one round trip.
pub(crate) async fn respond<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    kind: AuditKind,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    scopes: &Scopes,
    refresh: Refresh<'_>,
    now: UnixTime,
) -> Result<TokenResponse, StoreError> {
    let claims = claims(cx, client, grant, scopes, token_id(cx.rng), now);
    let detail = serde_json::json!({ "scope": claims.scope, "jti": claims.jti });
    let event = cx.audit_event(
        kind,
        Some(&grant.person.subject),
        Some(&grant.client_id),
        Some(&grant.grant_id),
        detail,
    );
    // Migration mode writes nothing to D1 and holds the event; its refresh grant neither
    // rotates nor issues refresh tokens, and the other grants are refused before this point.
    let issuance = Issuance {
        grant_id: &grant.grant_id,
        event: &event,
        now,
        refresh: refresh.write,
    };
    cx.store.record_issuance(&issuance, cx.rng).await?;
    sign(cx, claims, refresh).await
}

/// The claims of an access token for `grant` with `scopes` (RFC 9068 §2.2), identified by `jti`.
pub(crate) fn claims<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    grant: &GrantRecord,
    scopes: &Scopes,
    jti: String,
    now: UnixTime,
) -> AccessTokenClaims {
    // Migration mode stretches lifetimes so that agents come back (and read D1) less often.
    let ttl = cx
        .store
        .access_token_ttl_secs(cx.site.app.access_token_ttl_secs);
    AccessTokenClaims {
        iss: cx.site.issuer.clone(),
        sub: grant.person.subject.clone(),
        aud: grant.app.clone(),
        client_id: grant.client_id.as_str().to_owned(),
        scope: scopes.to_string(),
        jti,
        iat: now.0,
        exp: now.plus(ttl).0,
        grant_id: grant.grant_id.as_str().to_owned(),
        email: grant.person.email.clone(),
        groups: grant.person.groups.clone(),
        client_name: client.record().metadata.client_name.clone(),
    }
}

/// Signs `claims` (their issuance already recorded) into the token response.
pub(crate) async fn sign<S, K: Signer, R>(
    cx: &Context<'_, S, K, R>,
    claims: AccessTokenClaims,
    refresh: Refresh<'_>,
) -> Result<TokenResponse, StoreError> {
    Ok(TokenResponse {
        access_token: access_token::issue(cx.signer, &claims).await?,
        token_type: "Bearer",
        expires_in: claims.exp.saturating_sub(claims.iat),
        refresh_token: refresh.token.map(|t| t.expose_secret().to_owned()),
        scope: claims.scope,
    })
}

/// Runs a grant's transaction with what it needs read alongside, in one round trip: the grant's
/// KV entries ([`live::Witnesses`]), started first, so that the transaction is the later of the
/// two, as the race arguments of the code exchange and the refresh assume (a deny entry the reads
/// miss may land before the transaction); and the signing key, which an isolate's first token
/// reads from storage, so that this read overlaps the transaction instead of following it. A key
/// that cannot be read is the signing's to report.
pub(crate) async fn alongside<S: Store, K: Signer, R, T>(
    cx: &Context<'_, S, K, R>,
    grant_id: &GrantId,
    transaction: impl std::future::Future<Output = T>,
) -> (Result<live::Witnesses, StoreError>, T) {
    let (witnesses, done, _key) = futures_util::future::join3(
        live::Witnesses::read(cx, grant_id),
        transaction,
        cx.signer.current_kid(),
    )
    .await;
    (witnesses, done)
}

/// RFC 8707 §2.2: a `resource` in the token request must be one the grant covers.
pub(crate) fn check_resource_parameter<S, K, R>(
    cx: &Context<'_, S, K, R>,
    form: &Form,
    granted: &str,
) -> Result<(), Reason> {
    if let Some(resource) = form.get("resource")? {
        let resource = ResourceUri::parse(resource)?;
        if cx.site.resource_for(&resource) != Some(granted) {
            return Err(Reason::ResourceUnknown);
        }
    }
    Ok(())
}

pub(crate) fn token_id(rng: &impl Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    crate::crypto::hex(&bytes)
}
