//! A client's form request to the token, revocation, introspection or device authorization
//! endpoint, read and its client authenticated (RFC 6749 §2.3, §3.2) in this request's
//! [`Context`].

use super::{AuthError, AuthenticatedClient, Claimed, Deferred, Verification, authenticate};
use crate::context::Context;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::store::Store;

/// Reads a client's form request and authenticates the client (RFC 6749 §2.3, §3.2), as the
/// token, revocation, introspection and device authorization endpoints all do. A client
/// assertion's `aud` may name the token endpoint URL or the issuer (RFC 7523 §3 item 3).
pub(crate) async fn authenticate_request<S: Store, K: Signer, R>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<(Form, AuthenticatedClient), AuthError> {
    let form = read_form(body)?;
    let audiences = audiences(cx);
    let verification = verification(cx, &audiences);
    let client = authenticate(
        cx.store.inner(),
        &verification,
        &form,
        authorization,
        cx.now,
    )
    .await?;
    // Every later refusal of this request is this agent's (the decision's log line).
    cx.decision.client(client.id().as_str());
    Ok((form, client))
}

/// Reads a client's form request and authenticates its client, or, when `deferrable` says the
/// request's transaction can check the client ([`super::claim`]), leaves that to it.
pub(crate) async fn claim_request<S: Store, K: Signer, R>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    authorization: Option<&str>,
    deferrable: impl Fn(&Form) -> bool,
) -> Result<(Form, Claimed), AuthError> {
    let form = read_form(body)?;
    let audiences = audiences(cx);
    let verification = verification(cx, &audiences);
    let defer = deferrable(&form);
    let claimed = super::claim(
        cx.store.inner(),
        &verification,
        &form,
        authorization,
        cx.now,
        defer,
    )
    .await?;
    if let Claimed::Authenticated(client) = &claimed {
        cx.decision.client(client.id().as_str());
    }
    Ok((form, claimed))
}

/// Authenticates a [`Deferred`] client on its own (one read), for a request that turned out
/// not to fit in one transaction.
pub(crate) async fn authenticate_deferred<S: Store, K: Signer, R>(
    cx: &Context<'_, S, K, R>,
    deferred: Deferred,
) -> Result<AuthenticatedClient, AuthError> {
    let audiences = audiences(cx);
    let verification = verification(cx, &audiences);
    let client = deferred
        .authenticate(cx.store.inner(), &verification, cx.now)
        .await?;
    cx.decision.client(client.id().as_str());
    Ok(client)
}

/// Checks a [`Deferred`] client against the record its transaction read ([`Deferred::settle`]).
pub(crate) fn settle_deferred<S, K, R>(
    cx: &Context<'_, S, K, R>,
    deferred: Deferred,
    found: Option<crate::store::ClientRecord>,
) -> Result<AuthenticatedClient, AuthError> {
    let client = deferred.settle(found)?;
    cx.decision.client(client.id().as_str());
    Ok(client)
}

/// How this request's client is verified: its assertion against `audiences` ([`audiences`]).
fn verification<'a, S, K, R>(
    cx: &Context<'a, S, K, R>,
    audiences: &'a [String; 2],
) -> Verification<'a, K> {
    Verification {
        signer: cx.signer,
        lookup: cx.lookup,
        audiences,
    }
}

/// What a client assertion's `aud` may name: the token endpoint URL or the issuer (RFC 7523 §3
/// item 3).
fn audiences<S, K, R>(cx: &Context<'_, S, K, R>) -> [String; 2] {
    [
        format!("{}{}", cx.site.origin, cx.site.path(crate::paths::TOKEN)),
        cx.site.issuer.clone(),
    ]
}

/// The request's form; a malformed one is refused before any client is looked at.
fn read_form(body: &[u8]) -> Result<Form, AuthError> {
    Form::parse(body).map_err(|reason| AuthError::Refused {
        reason,
        used_basic: false,
    })
}
