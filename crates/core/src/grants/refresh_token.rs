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
use crate::client_auth::request;
use crate::client_auth::{AuthenticatedClient, Claimed, Deferred};
use crate::context::Context;
use crate::crypto::hmac_sha256;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::grants::{Refresh, TokenResponse};
use crate::identifiers;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::RefreshToken;
use crate::store::{RefreshRecord, RevocationReason, Rotation, Store};
use crate::time::UnixTime;
use crate::types::Scopes;

/// How long a client may repeat a refresh and receive the same successor.
pub const RETRY_WINDOW_SECS: u64 = 10;
/// The label of the server key that derives successors.
const SUCCESSOR_KEY_LABEL: &str = "refresh-token-successor";

/// Rotates a refresh token and issues a new access token.
///
/// One sequential storage round trip: the token names its grant, so the grant's KV entries (a
/// held revocation, the deny entry) are read while one transaction rotates the token, stores
/// the successor and records the issuance, each step conditioned on the ones before
/// ([`crate::store::RefreshStore::rotate_refresh`]). Tokens issued before tokens named their
/// grant take one more, to read it.
///
/// A rotation racing a revocation never leaves a live token. The revocation writes the deny
/// entry first, then revokes the grant and every refresh token of it in one D1 batch
/// ([`crate::revocation`], steps 1 and 2); this call's batch is one transaction, so it falls
/// wholly before or wholly after that step 2:
/// - after: the grant is revoked in D1, so nothing rotates, no successor is stored and no
///   issuance is recorded; the refusal finishes the revocation if a crash cut it short;
/// - before: the successor is stored live, and step 2 then rotates it with every other token
///   of the grant. Until step 2, the grant's access tokens are refused at the edge (step 1 came
///   first), and a successor whose deny entry this call's KV read saw is never sent: the
///   refusal runs the revocation again from step 1, which rotates it. If the KV read missed the
///   entry (it was written after the read, or KV had not caught up), this refresh is ordered
///   before the revocation and answered, exactly as when it had finished a moment earlier;
///   the successor dies with step 2, which the revoking request, the Queue's consumer or the
///   next path meeting the grant runs.
///
/// An RFC 7009 revocation of a refresh token writes D1 first (steps 2–4 in one transaction)
/// and its deny entry after answering ([`crate::revocation`]): against it the same holds with
/// no KV read to see, since the two transactions are ordered one way or the other.
///
/// The one thing a refusal after the batch leaves is its `token_refreshed` audit event (the
/// access token it names is never signed), followed by the grant's `grant_revoked`: only the
/// deny entry seen concurrently, or the app's policy no longer admitting the person, refuse a
/// refresh whose batch recorded it, and both revoke the grant.
///
/// A client this isolate has not authenticated lately ([`Claimed::Deferred`]: `none` or a secret)
/// is authenticated by that same transaction, which is then the refresh's only round trip: its
/// statements are conditioned on the client as client authentication checks it, and it reads
/// the client back, which [`crate::client_auth::Deferred::settle`] checks in Rust, so that a
/// client refused there was refused by the transaction too and nothing was written for it. A
/// request that does not fit (malformed, an unnamed token, migration mode) authenticates the
/// client first, as before, so every refusal is answered as on that path.
pub async fn rotate<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    claimed: Claimed,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let deferred = match claimed {
        Claimed::Authenticated(client) => return rotate_for(cx, &client, form, now).await,
        Claimed::Deferred(deferred) => deferred,
    };
    // Only a well-formed request goes in one transaction; any other is refused after the
    // client is authenticated, so that an unknown client is answered `invalid_client` first.
    let presented = form
        .require("refresh_token")
        .ok()
        .and_then(|token| cx.identifiers.refresh_token(token));
    let in_one = match (presented, narrowed_scopes(form)) {
        (Some(presented), Ok(narrowed)) if cx.store.rotates_refresh_tokens() => {
            grant_named_by(&presented).map(|grant_id| (presented, grant_id, narrowed))
        }
        _ => None,
    };
    let Some((presented, grant_id, narrowed)) = in_one else {
        let client = request::authenticate_deferred(cx, deferred).await?;
        return rotate_for(cx, &client, form, now).await;
    };
    let who = Client::Deferred(deferred);
    rotate_named(cx, who, &presented, grant_id, narrowed, now).await
}

/// [`rotate`] for an authenticated client.
async fn rotate_for<S: Store, K: Signer, R: Rng>(
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
    let narrowed = narrowed_scopes(form)?;
    if !cx.store.rotates_refresh_tokens() {
        return without_rotation(cx, client, &presented, narrowed.as_ref(), now).await;
    }
    let grant_id = match grant_named_by(&presented) {
        Some(grant_id) => grant_id,
        None => {
            cx.store
                .refresh(&presented.hash())
                .await?
                .ok_or(Reason::RefreshTokenUnknown)?
                .grant_id
        }
    };
    let who = Client::Authenticated(client);
    rotate_named(cx, who, &presented, grant_id, narrowed, now).await
}

/// The refresh's client: authenticated, or to be authenticated by the rotation's transaction.
enum Client<'c> {
    Authenticated(&'c AuthenticatedClient),
    Deferred(Deferred),
}

/// Rotates `presented`, of `grant_id`, in one transaction ([`rotate`]).
async fn rotate_named<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    who: Client<'_>,
    presented: &RefreshToken,
    grant_id: GrantId,
    narrowed: Option<Scopes>,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let (client_id, check_client) = match &who {
        Client::Authenticated(client) => (client.id(), None),
        Client::Deferred(deferred) => (deferred.client_id(), Some(deferred.check())),
    };
    let successor = successor_of(cx, &grant_id, presented);
    let successor_hash = successor.hash();
    // What a repeated refresh may have received before: the successor under the previous
    // secret, and the one a build whose tokens named no grant derived.
    let answers: Vec<RefreshToken> = std::iter::once(successor)
        .chain(previous_successor_of(cx, &grant_id, presented))
        .chain(unnamed_successor_of(cx, presented))
        .collect();
    let answer_hashes: Vec<_> = answers.iter().map(RefreshToken::hash).collect();
    let successor_record = RefreshRecord {
        token_hash: successor_hash,
        grant_id: grant_id.clone(),
        expires_at: now.plus(cx.site.app.refresh_token_ttl_secs),
        rotated_at: None,
        successor_hash: None,
    };
    let jti = super::token_id(cx.rng);
    let event = cx.audit_event(
        AuditKind::TokenRefreshed,
        None,
        Some(client_id),
        Some(&grant_id),
        serde_json::json!({ "jti": jti }),
    );
    let rotation = Rotation {
        presented: &presented.hash(),
        grant_id: &grant_id,
        client_id,
        app: &cx.site.resource,
        narrowed: narrowed.as_ref(),
        successor: &successor_record,
        answers: &answer_hashes,
        retry_window_secs: RETRY_WINDOW_SECS,
        event: &event,
        now,
        check_client: check_client.as_ref(),
    };
    let (witnesses, rotated) =
        super::alongside(cx, &grant_id, cx.store.rotate_refresh(&rotation)).await;
    let rotated = rotated?;
    // A deferred client is checked first, against the record the transaction read, and
    // refused as client authentication refuses it (RFC 6749 §5.2 `invalid_client`); the
    // transaction's conditions refused it too, so nothing was written.
    let settled;
    let client = match who {
        Client::Authenticated(client) => client,
        Client::Deferred(deferred) => {
            settled = request::settle_deferred(cx, deferred, rotated.client)?;
            if !settled.record().metadata.allows(GrantType::RefreshToken) {
                return Err(Reason::GrantTypeNotRegistered.into());
            }
            &settled
        }
    };
    let Some((record, grant)) = rotated.found else {
        return Err(Reason::RefreshTokenUnknown.into());
    };
    // RFC 6749 §6: "validate the refresh token and ensure that it was issued to the
    // authenticated client"; and it must be for the app served here.
    if record.grant_id != grant_id
        || &grant.client_id != client.id()
        || grant.app != cx.site.resource
    {
        return Err(Reason::RefreshTokenUnknown.into());
    }
    // A revoked grant is refused (D1, the denylist or a held write), and its revocation
    // finished if a crash cut it short.
    let grant = live::judge(cx, grant, witnesses?).await?;
    let scopes = match narrowed {
        Some(scopes) if !scopes.is_subset_of(&grant.scopes) => {
            return Err(Reason::ScopeWidened.into());
        }
        Some(scopes) => scopes,
        None => grant.scopes.clone(),
    };
    if !rotated.issued {
        return Err(match record.rotated_at {
            None if now >= record.expires_at => Reason::RefreshTokenExpired.into(),
            None => Reason::RefreshTokenUnknown.into(),
            // Rotated before, and not repeatable: reuse (RFC 9700 §4.14.2).
            Some(_) => {
                live::revoke_grant_record(cx, &grant, RevocationReason::RefreshTokenReused).await?;
                Reason::RefreshTokenReused.into()
            }
        });
    }
    live::enforce_policy(cx, &grant).await?;
    let Some(sent) = answers
        .iter()
        .find(|token| record.successor_hash.as_ref() == Some(&token.hash()))
    else {
        return Err(Reason::RefreshTokenUnknown.into());
    };
    let claims = super::claims(cx, client, &grant, &scopes, jti, now);
    Ok(super::sign(cx, claims, Refresh::sent(sent)).await?)
}

/// A refresh while migration mode is on: D1 takes no writes, so the token is not rotated and
/// the response carries no new one; the client keeps using it (RFC 6749 §6, §5.1). A token
/// rotated just before the mode began is still repeated inside [`RETRY_WINDOW_SECS`].
async fn without_rotation<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    presented: &RefreshToken,
    narrowed: Option<&Scopes>,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let (record, grant) = cx
        .store
        .refresh_with_grant(&presented.hash())
        .await?
        .ok_or(Reason::RefreshTokenUnknown)?;
    if &grant.client_id != client.id() || grant.app != cx.site.resource {
        return Err(Reason::RefreshTokenUnknown.into());
    }
    let grant = live::live(cx, Some(grant)).await?;
    let scopes = match narrowed {
        Some(scopes) if !scopes.is_subset_of(&grant.scopes) => {
            return Err(Reason::ScopeWidened.into());
        }
        Some(scopes) => scopes.clone(),
        None => grant.scopes.clone(),
    };
    let refresh = match record.rotated_at {
        None if now >= record.expires_at => return Err(Reason::RefreshTokenExpired.into()),
        None => None,
        Some(rotated_at) => {
            let answers = std::iter::once(successor_of(cx, &grant.grant_id, presented))
                .chain(previous_successor_of(cx, &grant.grant_id, presented))
                .chain(unnamed_successor_of(cx, presented));
            let mut answers = answers;
            let first = answers.find(|token| record.successor_hash.as_ref() == Some(&token.hash()));
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
            Some(first)
        }
    };
    live::enforce_policy(cx, &grant).await?;
    let refresh = refresh.as_ref().map_or(Refresh::NONE, Refresh::sent);
    let kind = AuditKind::TokenRefreshed;
    Ok(super::respond(cx, kind, client, &grant, &scopes, refresh, now).await?)
}

/// A new grant's first refresh token: 256 random bits after the grant's id, tagged, so that a
/// refresh knows the grant before storage answers.
pub(crate) fn issue<S, K, R: Rng>(cx: &Context<'_, S, K, R>, grant_id: &GrantId) -> RefreshToken {
    let random = RefreshToken::issue(cx.rng);
    named(cx, grant_id, random.expose_secret())
}

/// `{grant id}.{random part}`, tagged.
fn named<S, K, R>(cx: &Context<'_, S, K, R>, grant_id: &GrantId, random: &str) -> RefreshToken {
    cx.identifiers
        .seal_refresh_token(&identifiers::named_body(grant_id, random))
}

/// The grant a tagged refresh token names ([`identifiers::grant_named_by`]).
pub(crate) fn grant_named_by(token: &RefreshToken) -> Option<GrantId> {
    identifiers::grant_named_by(token.expose_secret())
}

/// RFC 6749 §6: the scope asked for "MUST NOT include any scope not originally granted"; it may
/// narrow. `None` when omitted: the grant's. Whether the grant holds them is the caller's (and
/// the rotation's) to check.
fn narrowed_scopes(form: &Form) -> Result<Option<Scopes>, Reason> {
    match form.get("scope")? {
        None => Ok(None),
        Some(scope) => {
            let requested = Scopes::parse(scope)?;
            if requested.is_empty() {
                return Err(Reason::ScopeWidened);
            }
            Ok(Some(requested))
        }
    }
}

/// The successor's random part is the MAC of the presented token; it names the grant and is
/// tagged like every refresh token gatehouse issues.
fn successor_of<S, K, R>(
    cx: &Context<'_, S, K, R>,
    grant_id: &GrantId,
    presented: &RefreshToken,
) -> RefreshToken {
    let key = cx.secret.derive(SUCCESSOR_KEY_LABEL);
    let mac = hmac_sha256(&key, &[presented.expose_secret().as_bytes()]);
    named(cx, grant_id, &URL_SAFE_NO_PAD.encode(mac))
}

/// The successor [`successor_of`] returned before the server secret was rotated, while the
/// previous secret is kept.
fn previous_successor_of<S, K, R>(
    cx: &Context<'_, S, K, R>,
    grant_id: &GrantId,
    presented: &RefreshToken,
) -> Option<RefreshToken> {
    let key = cx.secret.derive_previous(SUCCESSOR_KEY_LABEL)?;
    let mac = hmac_sha256(&key, &[presented.expose_secret().as_bytes()]);
    let body = identifiers::named_body(grant_id, &URL_SAFE_NO_PAD.encode(mac));
    cx.identifiers.seal_refresh_token_previous(&body)
}

/// The successor the build before tokens named their grant derived (the MAC alone, tagged), for
/// a token of that build: what a refresh that build answered receives when it is repeated.
fn unnamed_successor_of<S, K, R>(
    cx: &Context<'_, S, K, R>,
    presented: &RefreshToken,
) -> Option<RefreshToken> {
    // That build rotated only tokens that name no grant.
    if grant_named_by(presented).is_some() {
        return None;
    }
    let key = cx.secret.derive(SUCCESSOR_KEY_LABEL);
    let mac = hmac_sha256(&key, &[presented.expose_secret().as_bytes()]);
    Some(
        cx.identifiers
            .seal_refresh_token(&URL_SAFE_NO_PAD.encode(mac)),
    )
}

async fn successor_is_live<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    successor: &crate::secret::SecretHash,
) -> Result<bool, Failure> {
    let stored = cx.store.refresh(successor).await?;
    Ok(stored.is_some_and(|s| s.rotated_at.is_none()))
}
