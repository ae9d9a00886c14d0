//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
//!
//! Everything the code is bound to (client, app, redirect URI, PKCE verifier) is compared
//! before the code is spent, in the store's one atomic step (the transaction that also records
//! the issuance, [`exchange`]). A request that does not match is refused, audited and changes
//! nothing: merely seeing a code (a log line, a `Referer`, a browser history) must not let
//! anyone burn it, or revoke the grant of the client it was issued to (RFC 9700 §4.5 counts on
//! PKCE for exactly this; a check after the spend would undo it).

use super::live;
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grants::TokenResponse;
use crate::identifiers;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::pkce::{CodeChallenge, CodeVerifier};
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::AuthorizationCode;
use crate::store::{
    CodeBinding, CodeRecord, Consumed, Exchange, GrantRecord, RevocationReason, Store,
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
pub async fn exchange<S: Store, K: Signer, R: Rng>(
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
    let jti = super::token_id(cx.rng);
    let event = cx.audit_event(
        AuditKind::TokenIssued,
        None,
        Some(client.id()),
        Some(&grant_id),
        serde_json::json!({ "jti": jti }),
    );
    let request = Exchange {
        code_hash: &code.hash(),
        grant_id: &grant_id,
        binding: &binding,
        refresh: refresh.record(),
        event: &event,
        now,
    };
    // The KV reads first: the transaction is the later of the two, which is what the race
    // argument above assumes (a deny entry the reads miss may land before the batch).
    let (witnesses, exchanged) = futures_util::future::join(
        live::Witnesses::read(cx, &grant_id),
        cx.store.exchange_code(&request),
    )
    .await;
    let exchanged = exchanged?;
    let (record, grant) = consumed(cx, client, &binding, exchanged.consumed).await?;
    if record.grant_id != grant_id {
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
    let grant = live::judge(cx, grant, witnesses?).await?;
    if !exchanged.issued {
        // Not reached: the code was this request's, unexpired, and its grant live, the
        // client's and this app's, which is when the batch records the issuance.
        return Err(Reason::GrantRevoked.into());
    }
    live::enforce_policy(cx, &grant).await?;
    let claims = super::claims(cx, client, &grant, &record.scopes, jti, now);
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
