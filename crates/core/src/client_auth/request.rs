//! A client's form request to the token, revocation, introspection or device authorization
//! endpoint, read and its client authenticated (RFC 6749 §2.3, §3.2) in this request's
//! [`Context`].

use super::{AuthError, AuthenticatedClient, Verification, authenticate};
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
    let form = Form::parse(body).map_err(|reason| AuthError::Refused {
        reason,
        used_basic: false,
    })?;
    let audiences = [
        format!("{}{}", cx.site.origin, cx.site.path(crate::paths::TOKEN)),
        cx.site.issuer.clone(),
    ];
    let verification = Verification {
        signer: cx.signer,
        lookup: cx.lookup,
        audiences: &audiences,
    };
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
