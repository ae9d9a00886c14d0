//! The authorization endpoint's flow (RFC 6749 §4.1.1–§4.1.2): a checked request meets the
//! person (login), their consent (remembered or asked for), the app's policy, and ends in a
//! code on the client's redirect URI. The checks themselves are in [`crate::authorize`]; the
//! consent form in [`crate::consent`].

use super::{AuthorizationRequest, AuthorizeError};
use crate::consent::{self, ConsentPrompt, Decision};
use crate::context::Context;
use crate::error::{OAuthError, Reason};
use crate::login::{self, LoginPrompt};
use crate::rng::Rng;
use crate::store::{ClientSource, CodeRecord, Person, Store};

/// Authorization codes live this long (RFC 6749 §4.1.2: "A maximum authorization code lifetime
/// of 10 minutes is RECOMMENDED"; a client exchanges it within seconds).
pub const CODE_TTL_SECS: u64 = 60;

/// What `GET /oauth/authorize` leads to.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Nobody is logged in: show the login form, then come back to `return_to`.
    Login(LoginPrompt),
    /// The person must approve this client.
    Consent(ConsentPrompt),
    /// Done: redirect the browser here (a code, or an error for the client).
    Redirect(String),
}

/// `GET /oauth/authorize` (RFC 6749 §4.1.1). `session` is the raw session cookie, if any.
pub(crate) async fn authorize<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    methods: login::Methods<'_>,
    query: &str,
    session: Option<&str>,
) -> Result<AuthorizeOutcome, AuthorizeError> {
    let request = super::check(&cx.site, cx.store.inner(), cx.lookup, query, cx.now).await?;
    let Some(person) = login::person(cx, session)
        .await
        .map_err(AuthorizeError::Store)?
    else {
        return Ok(AuthorizeOutcome::Login(LoginPrompt::new(
            methods, &cx.site, &request, query,
        )));
    };
    if !crate::policy::admits(&cx.site, &person) {
        return Err(refuse(&request, Reason::PolicyDenied));
    }
    let consented = cx
        .store
        .consent(
            &person.subject,
            &request.client.client_id,
            &cx.site.resource,
        )
        .await
        .map_err(AuthorizeError::Store)?;
    if consent::remembered(consented.as_ref(), &request) {
        return complete(cx, request, &person)
            .await
            .map(AuthorizeOutcome::Redirect);
    }
    Ok(AuthorizeOutcome::Consent(ConsentPrompt::new(
        &cx.site, &request, &person, query,
    )))
}

/// `POST` of the consent form: the person's decision on a pending authorization request.
pub(crate) async fn consent<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    methods: login::Methods<'_>,
    body: &[u8],
    session: Option<&str>,
    csrf_cookie: Option<&str>,
) -> Result<AuthorizeOutcome, AuthorizeError> {
    let submitted = consent::Submitted::parse(body, csrf_cookie).map_err(AuthorizeError::Render)?;
    let request = super::check(
        &cx.site,
        cx.store.inner(),
        cx.lookup,
        &submitted.request,
        cx.now,
    )
    .await?;
    let Some(person) = login::person(cx, session)
        .await
        .map_err(AuthorizeError::Store)?
    else {
        return Ok(AuthorizeOutcome::Login(LoginPrompt::new(
            methods,
            &cx.site,
            &request,
            &submitted.request,
        )));
    };
    if submitted.decision == Decision::Deny {
        return Err(refuse(&request, Reason::ConsentDenied));
    }
    if !crate::policy::admits(&cx.site, &person) {
        return Err(refuse(&request, Reason::PolicyDenied));
    }
    // Consents and grants name their client in D1: a metadata document client gets its row (or
    // its metadata refreshed) when a person first approves it.
    if request.client.source == ClientSource::MetadataDocument {
        cx.store
            .remember_document_client(&request.client, cx.now)
            .await
            .map_err(AuthorizeError::Store)?;
    }
    let approved = Some(request.redirect.as_str());
    consent::remember_consent(
        cx,
        &person,
        &request.client.client_id,
        &request.scopes,
        approved,
    )
    .await
    .map_err(AuthorizeError::Store)?;
    complete(cx, request, &person)
        .await
        .map(AuthorizeOutcome::Redirect)
}

/// Issues the code for an approved request: a new grant, a code bound to the request, and the
/// redirect carrying it.
async fn complete<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    request: AuthorizationRequest,
    person: &Person,
) -> Result<String, AuthorizeError> {
    let stored = async {
        let grant = consent::create_grant(
            cx,
            person,
            &request.client.client_id,
            &request.resource,
            &request.scopes,
            request.redirect.as_str(),
        )
        .await?;
        // The code names its grant, so that its exchange reads the grant's KV entries alongside
        // its one D1 batch (`crate::grants::authorization_code`).
        let code = cx.identifiers.issue_code(&grant.grant_id, cx.rng);
        let record = CodeRecord {
            code_hash: code.hash(),
            grant_id: grant.grant_id,
            client_id: request.client.client_id.clone(),
            redirect_uri: request.redirect.as_str().to_owned(),
            code_challenge: request.code_challenge.as_str().to_owned(),
            resource: request.resource.clone(),
            scopes: request.scopes.clone(),
            expires_at: cx.now.plus(CODE_TTL_SECS),
        };
        cx.store.insert_code(&record, cx.now).await.map(|()| code)
    };
    let code = stored.await.map_err(AuthorizeError::Store)?;
    Ok(request.redirect.with_code(
        code.expose_secret(),
        request.state.as_ref(),
        &cx.site.issuer,
    ))
}

/// An error sent back to the client's redirect URI.
fn refuse(request: &AuthorizationRequest, reason: Reason) -> AuthorizeError {
    AuthorizeError::Redirect {
        to: request.redirect.clone(),
        state: request.state.clone(),
        error: OAuthError::from(reason),
    }
}
