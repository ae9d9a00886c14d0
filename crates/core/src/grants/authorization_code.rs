//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
//!
//! Everything the code is bound to (client, app, redirect URI, PKCE verifier) is compared
//! before the code is spent, in the store's one atomic step (the transaction that also records
//! the issuance, [`exchange`]). A request that does not match is refused, audited and changes
//! nothing: merely seeing a code (a log line, a `Referer`, a browser history) must not let
//! anyone burn it, or revoke the grant of the client it was issued to (RFC 9700 §4.5 counts on
//! PKCE for exactly this; a check after the spend would undo it).

use super::live;
use crate::client_auth::request;
use crate::client_auth::{AuthenticatedClient, Claimed};
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::grants::TokenResponse;
use crate::identifiers;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::model::refresh::RefreshRecord;
use crate::pkce::{CodeChallenge, CodeVerifier};
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::AuthorizationCode;
use crate::store::{
    ClientCheck, CodeBinding, CodeRecord, Consumed, Exchange, GrantRecord, RevocationReason, Store,
};
use crate::time::UnixTime;

/// Exchanges a code for tokens.
///
/// One sequential storage round trip: the code names its grant ([`crate::identifiers`]), so the
/// grant's KV entries (a held revocation, the deny entry) are read while one transaction records
/// the issuance (the first refresh token, the grant's last use, the audit event) and consumes
/// the code, the issuance conditioned on this request consuming it and on the grant being live,
/// the client's and this app's ([`crate::store::CodeStore::exchange_code`]). Everything that
/// needs no storage is checked before: the client's grant types, the code's tag, the PKCE
/// verifier's syntax, the `resource` parameter (RFC 8707 §2.2: the code's resource is the app
/// served here, which the binding compares).
///
/// Codes issued before codes named their grant (a code lives a minute, so they are met only
/// across a deploy) are exchanged as before, in two round trips ([`exchange_unnamed`]): refusing
/// them would fail the logins in flight at every deploy, and for as long as a gradual deployment
/// runs the previous build next to this one.
///
/// An exchange racing a revocation of its grant never leaves a live token, by the argument of
/// [`super::refresh_token::rotate`]: the revocation writes the deny entry first, then revokes
/// the grant and every refresh token of it in one D1 batch; this call's batch falls wholly
/// before that batch (its refresh token is stored live and then rotated with the others; if
/// this call's KV read saw the deny entry, the refusal runs the revocation again) or wholly
/// after it (the grant is revoked, so nothing is issued or stored; the code is spent, as a
/// code of a revoked grant always was).
///
/// A refusal after the batch recorded the issuance leaves its `token_issued` audit event (the
/// access token it names is never signed) and a refresh token nobody received, followed by the
/// grant's revocation, which retires that token. Three things refuse such an exchange, and each
/// revokes the grant: a deny entry read alongside (the refusal runs the revocation), a held
/// revocation (the drain applies it), and the app's policy no longer admitting the person
/// ([`live::enforce_policy`], which revoked the grant before this change too). The policy is
/// checked after the batch because it needs the person, whom the batch reads with the grant.
///
/// A client this isolate has not authenticated lately ([`Claimed::Deferred`]: `none` or a
/// secret) is authenticated by that same transaction, as the refresh's is
/// ([`super::refresh_token::rotate`]): its statements are conditioned on the client as client
/// authentication checks it, and it reads the client back, which
/// [`crate::client_auth::Deferred::settle`] checks in Rust, so that a client refused there was
/// refused by the transaction too and nothing was spent or written for it. An agent's first
/// exchange, right after its registration (which another isolate may have served), is then one
/// round trip. A request that does not fit (a code in the old format, no `redirect_uri`, a
/// malformed verifier or `resource`) authenticates the client first, so every refusal is answered
/// as on that path.
pub async fn exchange<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    claimed: Claimed,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let deferred = match claimed {
        Claimed::Authenticated(client) => return exchange_for(cx, &client, form, now).await,
        Claimed::Deferred(deferred) => deferred,
    };
    // Only a request whose checks before the transaction need no client goes in one; the
    // others are refused, or exchanged, after the client is authenticated.
    let fits = || -> Option<_> {
        let code = cx.identifiers.code(form.require("code").ok()?)?;
        let grant_id = identifiers::grant_named_by(code.expose_secret())?;
        let verifier = CodeVerifier::parse(form.get("code_verifier").ok()??).ok()?;
        let redirect_uri = form.get("redirect_uri").ok()??;
        super::check_resource_parameter(cx, form, &cx.site.resource).ok()?;
        Some((code, grant_id, verifier, redirect_uri))
    };
    let Some((code, grant_id, verifier, redirect_uri)) = fits() else {
        let client = request::authenticate_deferred(cx, deferred).await?;
        return exchange_for(cx, &client, form, now).await;
    };
    let challenge = CodeChallenge::from_verifier(&verifier);
    let client_id = deferred.client_id().clone();
    let binding = CodeBinding {
        client_id: &client_id,
        resource: &cx.site.resource,
        redirect_uri: Some(redirect_uri),
        code_challenge: challenge.as_str(),
    };
    // Drawn whether or not the client uses refresh tokens: the transaction stores it only if the
    // client registered the grant type, and it is sent only then.
    let refresh = super::FirstRefreshToken::draw(cx, &grant_id, now);
    let check = deferred.check();
    let issued = issue(
        cx,
        &code,
        &grant_id,
        &binding,
        refresh.record(),
        Some(&check),
        now,
    )
    .await?;
    // The client first, against the record the transaction read, refused as client
    // authentication refuses it (RFC 6749 §5.2 `invalid_client`); the transaction's conditions
    // refused it too, so nothing was spent or written.
    let client = request::settle_deferred(cx, deferred, issued.exchanged.client.clone())?;
    if !client
        .record()
        .metadata
        .allows(GrantType::AuthorizationCode)
    {
        return Err(Reason::GrantTypeNotRegistered.into());
    }
    let refresh = match client.record().metadata.allows(GrantType::RefreshToken) {
        true => refresh,
        false => super::FirstRefreshToken::NONE,
    };
    answer(cx, &client, &binding, &grant_id, issued, refresh, now).await
}

/// [`exchange`] for an authenticated client.
async fn exchange_for<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    if !client
        .record()
        .metadata
        .allows(GrantType::AuthorizationCode)
    {
        return Err(Reason::GrantTypeNotRegistered.into());
    }
    // A code gatehouse did not issue is unknown without a lookup (`crate::identifiers`):
    // `invalid_grant`, as for any invalid code (RFC 6749 §5.2).
    let code = cx
        .identifiers
        .code(form.require("code")?)
        .ok_or(Reason::CodeUnknown)?;
    // RFC 7636 §4.6: the verifier must hash to the challenge. A missing or malformed one is
    // refused before the code is looked at.
    let verifier = CodeVerifier::parse(
        form.get("code_verifier")?
            .ok_or(Reason::PkceVerifierMissing)?,
    )?;
    let challenge = CodeChallenge::from_verifier(&verifier);
    let binding = CodeBinding {
        client_id: client.id(),
        resource: &cx.site.resource,
        redirect_uri: repeated_redirect_uri(client, form)?,
        code_challenge: challenge.as_str(),
    };
    // RFC 8707 §2.2: a `resource` must be one the grant covers. The code's is the app served
    // here (the binding compares it), so this needs no storage, and a request that fails it
    // leaves the code unspent, as any request the code was not issued for does.
    super::check_resource_parameter(cx, form, binding.resource)?;
    let Some(grant_id) = identifiers::grant_named_by(code.expose_secret()) else {
        return exchange_unnamed(cx, client, &code, &binding, now).await;
    };
    let refresh = super::FirstRefreshToken::issue(cx, client, &grant_id, now);
    let issued = issue(cx, &code, &grant_id, &binding, refresh.record(), None, now).await?;
    answer(cx, client, &binding, &grant_id, issued, refresh, now).await
}

/// The exchange's transaction, with the grant's KV entries read alongside.
struct Issued {
    exchanged: crate::store::Exchanged,
    witnesses: Result<live::Witnesses, crate::store::StoreError>,
    jti: String,
}

/// Runs the exchange's transaction ([`crate::store::CodeStore::exchange_code`]) for `code`,
/// which names `grant_id`, and reads the grant's KV entries meanwhile.
async fn issue<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    code: &AuthorizationCode,
    grant_id: &GrantId,
    binding: &CodeBinding<'_>,
    refresh: Option<&RefreshRecord>,
    check_client: Option<&ClientCheck>,
    now: UnixTime,
) -> Result<Issued, Failure> {
    let jti = super::token_id(cx.rng);
    let event = cx.audit_event(
        AuditKind::TokenIssued,
        None,
        Some(binding.client_id),
        Some(grant_id),
        serde_json::json!({ "jti": jti }),
    );
    let request = Exchange {
        code_hash: &code.hash(),
        grant_id,
        binding,
        refresh,
        event: &event,
        now,
        check_client,
    };
    let (witnesses, exchanged) =
        super::alongside(cx, grant_id, cx.store.exchange_code(&request)).await;
    Ok(Issued {
        exchanged: exchanged?,
        witnesses,
        jti,
    })
}

/// The answer to an exchange whose transaction ran ([`issue`]) for the authenticated `client`.
async fn answer<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    binding: &CodeBinding<'_>,
    grant_id: &GrantId,
    issued: Issued,
    refresh: super::FirstRefreshToken,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let (record, grant) = consumed(cx, client, binding, issued.exchanged.consumed).await?;
    if &record.grant_id != grant_id {
        return Err(Reason::CodeUnknown.into());
    }
    if now >= record.expires_at {
        return Err(Reason::CodeExpired.into());
    }
    let Some(grant) = grant else {
        return Err(Reason::GrantRevoked.into());
    };
    if &grant.client_id != client.id() || grant.app != cx.site.resource {
        return Err(Reason::CodeUnknown.into());
    }
    // A revoked grant is refused (D1, the denylist or a held write), and its revocation
    // finished if a crash cut it short.
    let grant = live::judge(cx, grant, issued.witnesses?).await?;
    if !issued.exchanged.issued {
        // Not reached: the code was this request's, unexpired, and its grant live, the
        // client's and this app's, which is when the batch records the issuance.
        return Err(Reason::GrantRevoked.into());
    }
    live::enforce_policy(cx, &grant).await?;
    let claims = super::claims(cx, client, &grant, &record.scopes, issued.jti, now);
    Ok(super::sign(cx, claims, refresh.stored()).await?)
}

/// The exchange of a code issued before codes named their grant: consume it and read its
/// grant in one round trip, then record the issuance in another.
async fn exchange_unnamed<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    code: &AuthorizationCode,
    binding: &CodeBinding<'_>,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    let found = cx.store.consume_code(&code.hash(), binding, now).await?;
    let (record, grant) = consumed(cx, client, binding, found).await?;
    if now >= record.expires_at {
        return Err(Reason::CodeExpired.into());
    }
    let grant = live::live(cx, grant).await?;
    live::enforce_policy(cx, &grant).await?;
    let refresh = super::FirstRefreshToken::issue(cx, client, &grant.grant_id, now);
    Ok(super::respond(
        cx,
        AuditKind::TokenIssued,
        client,
        &grant,
        &record.scopes,
        refresh.issued(),
        now,
    )
    .await?)
}

/// The code this request consumed, with its grant; any other finding refused: unknown, issued
/// for another request (audited, [`refuse`]), or used before (a replay, which revokes).
async fn consumed<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    binding: &CodeBinding<'_>,
    found: Consumed,
) -> Result<(CodeRecord, Option<GrantRecord>), Failure> {
    match found {
        Consumed::Fresh(record, grant) => Ok((record, grant)),
        Consumed::Unknown => Err(Reason::CodeUnknown.into()),
        Consumed::Refused(record, grant) => {
            Err(refuse(cx, client, binding, &record, grant.as_ref()).await)
        }
        // RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
        // server MUST deny the request and SHOULD revoke (when possible) all tokens previously
        // issued based on that authorization code." Only a request that matches the code's
        // binding gets here: the rightful client's retry, or a thief holding its verifier.
        Consumed::Replayed(grant_id) => {
            live::revoke_grant(cx, &grant_id, RevocationReason::CodeReplayed).await?;
            Err(Reason::CodeReplayed.into())
        }
    }
}

/// RFC 6749 §4.1.3: the redirect_uri, when it was in the authorization request, must be
/// repeated identically. It could be left out there only when the client registered exactly
/// one, so a request without it stands for that one.
fn repeated_redirect_uri<'f>(
    client: &'f AuthenticatedClient,
    form: &'f Form,
) -> Result<Option<&'f str>, Reason> {
    Ok(match form.get("redirect_uri")? {
        Some(uri) => Some(uri),
        None => match client.record().metadata.redirect_uris.as_slice() {
            [only] => Some(only.as_str()),
            _ => None,
        },
    })
}

/// A code presented by a request it was not issued for: nothing changes, the attempt is
/// audited (naming the person, so it shows in their trail, the presenting client, and the
/// client the code was issued to), and the refusal says which part did not match.
async fn refuse<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    binding: &CodeBinding<'_>,
    record: &CodeRecord,
    grant: Option<&GrantRecord>,
) -> Failure {
    let reason = binding.mismatch(record).unwrap_or(Reason::CodeUnknown);
    let detail = serde_json::json!({
        "reason": reason.to_string(),
        "issued_to": record.client_id.as_str(),
    });
    let audited = cx
        .audit(
            AuditKind::CodeRefused,
            grant.map(|g| g.person.subject.as_str()),
            Some(client.id()),
            Some(&record.grant_id),
            detail,
        )
        .await;
    match audited {
        Ok(()) => reason.into(),
        Err(error) => error.into(),
    }
}
