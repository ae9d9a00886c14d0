//! A grant as the features meet it: live or revoked, and revoked on every path that finds it
//! should be. Every refusal of a revoked grant finishes its revocation if a crash cut it short
//! ([`crate::revocation`] says why that converges).

use crate::access_token::{self, VerifyError};
use crate::client_auth::request;
use crate::client_auth::{AuthenticatedClient, Claimed};
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::grant_id::GrantId;
use crate::jose::signer::Signer;
use crate::revocation::{Pending, Revocation};
use crate::rng::Rng;
use crate::store::{GrantRecord, RevocationReason, Store, StoreError, TokenRevocation};

/// Revokes a grant: every step of [`crate::revocation`], the deny entry first, and the same
/// command on the Queue. A grant already revoked whose revocation a crash cut short is finished
/// the same way, so that every path that meets it repairs it and answers as if it had done the
/// work; a settled one is left alone.
pub(crate) async fn revoke_grant<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant_id: &GrantId,
    reason: RevocationReason,
) -> Result<(), StoreError> {
    // Storage that cannot be read still takes the deny entry and the Queue message; the
    // consumer reads the grant's details when it can.
    match cx.store.grant(grant_id).await.ok().flatten() {
        Some(grant) => revoke_grant_record(cx, &grant, reason).await,
        None => {
            let revocation = Revocation::of_unread(grant_id, reason, cx.now, cx.source.clone());
            cx.store.revoke(&revocation, cx.now).await
        }
    }
}

/// [`revoke_grant`] of a grant already read. One revoked before keeps its time and reason.
pub(crate) async fn revoke_grant_record<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant: &GrantRecord,
    reason: RevocationReason,
) -> Result<(), StoreError> {
    if grant.revocation_settled_at.is_some() {
        return Ok(());
    }
    let reason = grant.revoked_reason.unwrap_or(reason);
    let revocation = Revocation::of(grant, reason, cx.now, cx.source.clone());
    cx.store.revoke(&revocation, cx.now).await
}

/// A grant that exists and is not revoked. A revoked one is refused, and its revocation
/// finished if a crash cut it short.
pub(crate) async fn live_grant<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant_id: &GrantId,
) -> Result<GrantRecord, Failure> {
    live(cx, cx.store.grant(grant_id).await?).await
}

/// The grant, if it exists and is not revoked: tokens are issued only under a live grant.
///
/// D1 is not the only witness: the denylist and the held writes know revocations D1 does not
/// have yet (migration mode, an outage, a crash after the deny entry), and a held revocation
/// outlives its deny entry however long D1 lags. A revoked grant is refused, and its revocation
/// finished when nothing else will finish it: not settled in D1, or denied but neither in D1
/// nor held.
pub(crate) async fn live<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant: Option<GrantRecord>,
) -> Result<GrantRecord, Failure> {
    let Some(grant) = grant else {
        return Err(Reason::GrantRevoked.into());
    };
    if grant.revoked_at.is_some() {
        return judge(cx, grant, Witnesses::default()).await;
    }
    let held = cx
        .store
        .is_held(&crate::migration::revoke_grant_key(&grant.grant_id))
        .await?;
    let witnesses = Witnesses {
        held,
        denial: if held {
            None
        } else {
            cx.store.denial(&grant.grant_id).await?
        },
    };
    judge(cx, grant, witnesses).await
}

/// What KV knows of a grant's revocation: a held revocation, and the deny entry's reason.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Witnesses {
    /// A revocation of it is held for the drain.
    pub(crate) held: bool,
    /// It is on the denylist, for this reason.
    pub(crate) denial: Option<RevocationReason>,
}

impl Witnesses {
    /// Reads both from KV at once (one round trip, which may overlap others).
    pub(crate) async fn read<S: Store, K, R>(
        cx: &Context<'_, S, K, R>,
        grant_id: &GrantId,
    ) -> Result<Self, StoreError> {
        let key = crate::migration::revoke_grant_key(grant_id);
        let (held, denial) =
            futures_util::future::join(cx.store.is_held(&key), cx.store.denial(grant_id)).await;
        Ok(Self {
            held: held?,
            denial: denial?,
        })
    }
}

/// [`live`] on what was read already: refused when D1 or KV knows the grant revoked, and its
/// revocation finished if a crash cut it short.
pub(crate) async fn judge<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant: GrantRecord,
    witnesses: Witnesses,
) -> Result<GrantRecord, Failure> {
    if grant.revoked_at.is_some() {
        // The stored reason is kept; this one is not used.
        revoke_grant_record(cx, &grant, RevocationReason::ClientRequest).await?;
        return Err(Reason::GrantRevoked.into());
    }
    if witnesses.held {
        return Err(Reason::GrantRevoked.into());
    }
    if let Some(reason) = witnesses.denial {
        revoke_grant_record(cx, &grant, reason).await?;
        return Err(Reason::GrantRevoked.into());
    }
    Ok(grant)
}

/// The app's policy ([`crate::policy::admits`]), checked again whenever tokens are issued: the
/// grant of a person the policy no longer admits is revoked, so that admitting them again later
/// does not revive it (a new grant needs their consent again).
pub(crate) async fn enforce_policy<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    grant: &GrantRecord,
) -> Result<(), Failure> {
    if crate::policy::admits(&cx.site, &grant.person) {
        return Ok(());
    }
    revoke_grant_record(cx, grant, RevocationReason::PolicyChanged).await?;
    Err(Reason::PolicyNoLongerAdmits.into())
}

/// The grant `token` (a refresh token or an access token) was issued under, if it is this
/// client's and for the app served here. Only a token gatehouse tagged can be a refresh token;
/// anything else is looked up as an access token (a JWT, which has no tag). An unknown token is
/// answered like a revoked one (RFC 7009 §2.2, RFC 7662 §2.2).
pub(crate) async fn grant_of_token<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    token: &str,
    client: &AuthenticatedClient,
) -> Result<Option<GrantRecord>, StoreError> {
    let refresh = match cx.identifiers.refresh_token(token) {
        Some(refresh) => cx.store.refresh(&refresh.hash()).await?,
        None => None,
    };
    let grant_id = match refresh {
        Some(record) => {
            let live = record.rotated_at.is_none() && cx.now < record.expires_at;
            let grant = cx.store.grant(&record.grant_id).await?;
            // A refresh token that its grant's revocation rotated still names the grant:
            // revoking it again finishes a revocation a crash cut short.
            return Ok(grant.filter(|g| {
                (live || g.revoked_at.is_some())
                    && &g.client_id == client.id()
                    && g.app == cx.site.resource
            }));
        }
        None => match access_token::verify(cx.signer, token, &cx.site.issuer, cx.now).await {
            Ok(claims) => GrantId::from_stored(claims.grant_id),
            Err(VerifyError::Invalid(_)) => return Ok(None),
            Err(VerifyError::Store(e)) => return Err(e),
        },
    };
    let grant = cx.store.grant(&grant_id).await?;
    // Only this client's grants, and only for the app served here.
    Ok(grant.filter(|g| &g.client_id == client.id() && g.app == cx.site.resource))
}

/// `POST /oauth/revoke` (RFC 7009 §2) of an authenticated client's form. Revoking either token
/// revokes the grant, and with it every token issued under it. Unknown tokens, and tokens of
/// other clients, are answered like revoked ones (§2.2) and left alone.
///
/// A refresh token that names its grant is revoked in one round trip before the answer, what
/// [`Pending`] holds after it ([`crate::revocation`], "RFC 7009 with a refresh token"); every
/// other token, and every revocation while migration mode is on or when that transaction
/// fails, takes the path that writes the deny entry first and leaves nothing for later.
///
/// A client this isolate has not authenticated lately ([`Claimed::Deferred`]: `none` or a
/// secret) is authenticated by that one transaction, as a refresh's is
/// ([`super::refresh_token::rotate`]); it is deferred only when the request's token is one the
/// transaction revokes ([`revocable_in_one`]), so every other request is answered as before. A
/// client refused by the transaction's conditions revoked nothing and is answered
/// `invalid_client`, before anything else.
pub(crate) async fn revoke_token<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    form: &crate::form::Form,
    claimed: Claimed,
) -> Result<Pending, Failure> {
    let reason = RevocationReason::ClientRequest;
    if let Some((refresh, grant_id)) = revocable_in_one(cx, form) {
        let (client_id, check) = match &claimed {
            Claimed::Authenticated(client) => (client.id().clone(), None),
            Claimed::Deferred(deferred) => (deferred.client_id().clone(), Some(deferred.check())),
        };
        let revocation = Revocation::of_unread(&grant_id, reason, cx.now, cx.source.clone());
        let request = TokenRevocation {
            token_hash: &refresh.hash(),
            client_id: &client_id,
            app: &cx.site.resource,
            revocation: &revocation,
            check_client: check.as_ref(),
        };
        // D1 did not take it (or its answer was lost): the deny-first path below, which
        // holds the D1 side for the drain when D1 cannot write; a transaction that did
        // commit is found revoked and finished.
        if let Ok(revoked) = cx.store.revoke_by_refresh_token(&request).await {
            if let Claimed::Deferred(deferred) = claimed {
                request::settle_deferred(cx, deferred, revoked.client)?;
            }
            return Ok(match revoked.grant {
                Some(grant) => Pending::after(&grant, reason, cx.now),
                // Not this client's token, not for this app, or not live under a live grant:
                // answered alike, nothing written (RFC 7009 §2.2).
                None => Pending::nothing(),
            });
        }
    }
    let client = match claimed {
        Claimed::Authenticated(client) => client,
        Claimed::Deferred(deferred) => request::authenticate_deferred(cx, deferred).await?,
    };
    let token = form.require("token")?;
    if let Some(grant) = grant_of_token(cx, token, &client).await? {
        revoke_grant_record(cx, &grant, reason).await?;
    }
    Ok(Pending::nothing())
}

/// The refresh token of an RFC 7009 request, and the grant it names, when one transaction
/// revokes it ([`crate::store::GrantStore::revoke_by_refresh_token`]): a token gatehouse
/// issued in the format that names its grant, outside migration mode.
pub(crate) fn revocable_in_one<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    form: &crate::form::Form,
) -> Option<(crate::secret::RefreshToken, GrantId)> {
    if cx.store.is_on() {
        return None;
    }
    let refresh = cx.identifiers.refresh_token(form.require("token").ok()?)?;
    let grant_id = crate::grants::refresh_token::grant_named_by(&refresh)?;
    Some((refresh, grant_id))
}
