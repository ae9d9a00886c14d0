//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
//!
//! Every use rotates the token. The successor is not random but derived from the presented
//! token with a server key: `successor = HMAC-SHA256(key, presented)`. A client that retries a
//! refresh whose response it lost (inside [`RETRY_WINDOW_SECS`]) therefore receives the very
//! token the first attempt created, and two racing refreshes compute the same successor: the
//! chain never forks, and only the hash of each token is ever stored. Without the key, a stolen
//! token does not reveal its successors.
//!
//! Across a rotation of the server secret (`GATEHOUSE_SECRET_PREVIOUS` set), a repeated refresh
//! is recognised by the successor made under either secret, and receives that one: the chain
//! does not fork when the secret changes between the first attempt and its retry.
//!
//! Presenting a rotated token outside that window, or after its successor was itself used, is
//! reuse: the whole grant is revoked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::live;
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::crypto::hmac_sha256;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grants::{Refresh, TokenResponse};
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::RefreshToken;
use crate::store::{RefreshRecord, RevocationReason, Store};
use crate::time::UnixTime;
use crate::types::Scopes;

/// How long a client may repeat a refresh and receive the same successor.
pub const RETRY_WINDOW_SECS: u64 = 10;
/// The label of the server key that derives successors.
const SUCCESSOR_KEY_LABEL: &str = "refresh-token-successor";

/// Rotates a refresh token and issues a new access token.
pub async fn rotate<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    if !client.record().metadata.allows(GrantType::RefreshToken) {
        return Err(Reason::GrantTypeNotRegistered.into());
    }
    // A token gatehouse did not issue is unknown without a lookup (`crate::identifiers`):
    // `invalid_grant`, as for any invalid refresh token (RFC 6749 §5.2).
    let presented = cx
        .identifiers
        .refresh_token(form.require("refresh_token")?)
        .ok_or(Reason::RefreshTokenUnknown)?;
    let (record, grant) = cx
        .store
        .refresh_with_grant(&presented.hash())
        .await?
        .ok_or(Reason::RefreshTokenUnknown)?;
    // RFC 6749 §6: "validate the refresh token and ensure that it was issued to the
    // authenticated client"; and it must be for the app served here.
    if &grant.client_id != client.id() || grant.app != cx.site.resource {
        return Err(Reason::RefreshTokenUnknown.into());
    }
    // A revoked grant is refused (D1, the denylist or a held write), and its revocation
    // finished if a crash cut it short.
    let grant = live::live(cx, Some(grant)).await?;
    let scopes = requested_scopes(form, &grant.scopes)?;
    let successor = successor_of(cx, &presented);
    let previous_successor = previous_successor_of(cx, &presented);
    let successor_record = RefreshRecord {
        token_hash: successor.hash(),
        grant_id: grant.grant_id.clone(),
        expires_at: now.plus(cx.site.app.refresh_token_ttl_secs),
        rotated_at: None,
        successor_hash: None,
    };
    let refresh = match record.rotated_at {
        None if now >= record.expires_at => return Err(Reason::RefreshTokenExpired.into()),
        // Migration mode writes nothing to D1: the token is not rotated, and the response
        // carries no new one, so the client keeps using it (RFC 6749 §6, §5.1).
        None if !cx.store.rotates_refresh_tokens() => Refresh::NONE,
        // Whether this call or a racing one rotates it, the successor is the same token.
        None => Refresh::rotated(&record.token_hash, &successor, &successor_record),
        Some(rotated_at) => {
            // The successor the first attempt made, under the secret of that moment.
            let first = std::iter::once(&successor)
                .chain(previous_successor.as_ref())
                .find(|token| record.successor_hash.as_ref() == Some(&token.hash()));
            let repeated = match first {
                Some(token)
                    if now.since(rotated_at) <= RETRY_WINDOW_SECS
                        && successor_is_live(cx, &token.hash()).await? =>
                {
                    Some(token)
                }
                _ => None,
            };
            let Some(first) = repeated else {
                live::revoke_grant_record(cx, &grant, RevocationReason::RefreshTokenReused).await?;
                return Err(Reason::RefreshTokenReused.into());
            };
            Refresh::repeated(first)
        }
    };
    live::enforce_policy(cx, &grant).await?;
    let kind = AuditKind::TokenRefreshed;
    Ok(super::respond(cx, kind, client, &grant, &scopes, refresh, now).await?)
}

/// RFC 6749 §6: the scope asked for "MUST NOT include any scope not originally granted"; it may
/// narrow. Omitted, it is the grant's.
fn requested_scopes(form: &Form, granted: &Scopes) -> Result<Scopes, Reason> {
    match form.get("scope")? {
        None => Ok(granted.clone()),
        Some(scope) => {
            let requested = Scopes::parse(scope)?;
            if requested.is_empty() || !requested.is_subset_of(granted) {
                return Err(Reason::ScopeWidened);
            }
            Ok(requested)
        }
    }
}

/// The successor's random part is the MAC of the presented token; it is tagged like every
/// refresh token gatehouse issues.
fn successor_of<S, K, R>(cx: &Context<'_, S, K, R>, presented: &RefreshToken) -> RefreshToken {
    let key = cx.secret.derive(SUCCESSOR_KEY_LABEL);
    let mac = hmac_sha256(&key, &[presented.expose_secret().as_bytes()]);
    let identifiers = &cx.identifiers;
    identifiers.seal_refresh_token(&URL_SAFE_NO_PAD.encode(mac))
}

/// The successor [`successor_of`] returned before the server secret was rotated, while the
/// previous secret is kept.
fn previous_successor_of<S, K, R>(
    cx: &Context<'_, S, K, R>,
    presented: &RefreshToken,
) -> Option<RefreshToken> {
    let key = cx.secret.derive_previous(SUCCESSOR_KEY_LABEL)?;
    let mac = hmac_sha256(&key, &[presented.expose_secret().as_bytes()]);
    let identifiers = &cx.identifiers;
    identifiers.seal_refresh_token_previous(&URL_SAFE_NO_PAD.encode(mac))
}

async fn successor_is_live<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    successor: &crate::secret::SecretHash,
) -> Result<bool, Failure> {
    let stored = cx.store.refresh(successor).await?;
    Ok(stored.is_some_and(|s| s.rotated_at.is_none()))
}
