//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2).

use crate::audit::AuditKind;
use crate::client_auth::AuthenticatedClient;
use crate::error::Reason;
use crate::form::Form;
use crate::grants::TokenResponse;
use crate::pkce::{CodeChallenge, CodeVerifier};
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::secret::AuthorizationCode;
use crate::server::{Failure, Server};
use crate::signer::Signer;
use crate::store::{CodeRecord, Consumed, RevocationReason, Store};
use crate::time::UnixTime;

/// Exchanges a code for tokens.
pub async fn exchange<S: Store, K: Signer, R: Rng>(
    server: &Server<'_, S, K, R>,
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
    let code = AuthorizationCode::from_presented(form.require("code")?);
    let (record, grant) = match server.store.consume_code(&code.hash(), now).await? {
        Consumed::Fresh(record, grant) => (record, grant),
        Consumed::Unknown => return Err(Reason::CodeUnknown.into()),
        // RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization
        // server MUST deny the request and SHOULD revoke (when possible) all tokens previously
        // issued based on that authorization code."
        Consumed::Replayed(grant_id) => {
            server
                .revoke_grant(&grant_id, RevocationReason::CodeReplayed)
                .await?;
            return Err(Reason::CodeReplayed.into());
        }
    };
    check_binding(server, client, &record, form, now)?;
    let grant = server.live(grant).await?;
    server.enforce_policy(&grant).await?;
    let refresh = super::FirstRefreshToken::issue(server, client, &grant, now);
    Ok(super::respond(
        server,
        AuditKind::TokenIssued,
        client,
        &grant,
        &record.scopes,
        refresh.issued(),
        now,
    )
    .await?)
}

/// The code is bound to the client, the redirect URI, the PKCE verifier and the resource of
/// the authorization request, and lives [`crate::server::CODE_TTL_SECS`].
fn check_binding<S, K, R>(
    server: &Server<'_, S, K, R>,
    client: &AuthenticatedClient,
    record: &CodeRecord,
    form: &Form,
    now: UnixTime,
) -> Result<(), Failure> {
    // RFC 6749 §4.1.3: "ensure that the authorization code was issued to the authenticated
    // confidential client, or if the client is public, ensure that the code was issued to
    // "client_id" in the request".
    if &record.client_id != client.id() {
        return Err(Reason::CodeIssuedToOtherClient.into());
    }
    // Each app host is its own issuer: a code issued for one app is unknown at another.
    if record.resource != server.site.resource {
        return Err(Reason::CodeUnknown.into());
    }
    if now >= record.expires_at {
        return Err(Reason::CodeExpired.into());
    }
    // RFC 6749 §4.1.3: the redirect_uri, when it was in the authorization request, must be
    // repeated identically. It could be left out there only when the client registered one.
    let registered = &client.record().metadata.redirect_uris;
    let repeated = match form.get("redirect_uri")? {
        Some(uri) => uri == record.redirect_uri,
        None => matches!(registered.as_slice(), [only] if only.as_str() == record.redirect_uri),
    };
    if !repeated {
        return Err(Reason::CodeRedirectUriMismatch.into());
    }
    // RFC 7636 §4.6: the verifier must hash to the challenge.
    let verifier = CodeVerifier::parse(
        form.get("code_verifier")?
            .ok_or(Reason::PkceVerifierMissing)?,
    )?;
    CodeChallenge::parse(&record.code_challenge, Some("S256"))?.verify(&verifier)?;
    super::check_resource_parameter(server, form, &record.resource)?;
    Ok(())
}
