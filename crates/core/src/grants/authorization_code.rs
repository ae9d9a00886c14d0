//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).
//!
//! Everything the code is bound to (client, app, redirect URI, PKCE verifier) is compared
//! before the code is spent, in the store's one atomic step. A request that does not match is
//! refused, audited and changes nothing: merely seeing a code (a log line, a `Referer`, a
//! browser history) must not let anyone burn it, or revoke the grant of the client it was
//! issued to (RFC 9700 §4.5 counts on PKCE for exactly this; a check after the spend would
//! undo it).

use super::live;
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grants::TokenResponse;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::pkce::{CodeChallenge, CodeVerifier};
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::store::{CodeBinding, CodeRecord, Consumed, GrantRecord, RevocationReason, Store};
use crate::time::UnixTime;

/// Exchanges a code for tokens.
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
    let (record, grant) = match cx.store.consume_code(&code.hash(), &binding, now).await? {
        Consumed::Fresh(record, grant) => (record, grant),
        Consumed::Unknown => return Err(Reason::CodeUnknown.into()),
        Consumed::Refused(record, grant) => {
            return Err(refuse(cx, client, &binding, &record, grant.as_ref()).await);
        }
        // RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
        // server MUST deny the request and SHOULD revoke (when possible) all tokens previously
        // issued based on that authorization code." Only a request that matches the code's
        // binding gets here: the rightful client's retry, or a thief holding its verifier.
        Consumed::Replayed(grant_id) => {
            live::revoke_grant(cx, &grant_id, RevocationReason::CodeReplayed).await?;
            return Err(Reason::CodeReplayed.into());
        }
    };
    if now >= record.expires_at {
        return Err(Reason::CodeExpired.into());
    }
    super::check_resource_parameter(cx, form, &record.resource)?;
    let grant = live::live(cx, grant).await?;
    live::enforce_policy(cx, &grant).await?;
    let refresh = super::FirstRefreshToken::issue(cx, client, &grant, now);
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
