//! The authorization endpoint (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1): validates an authorization
//! request as a pipeline of checks, each named for what it rejects, and builds the redirect that
//! answers it.
//!
//! Order matters (RFC 6749 §4.1.2.1): until the client and its redirect URI are established, an
//! error is shown to the person as a page and never redirected ([`AuthorizeError::Render`]);
//! after that, errors go back to the client's registered redirect URI with `state` and `iss`
//! ([`AuthorizeError::Redirect`]).

pub mod flow;
mod redirect;

pub use redirect::RegisteredRedirect;

use crate::cimd::{self, ClientLookup, LookupError, MetadataDocuments};
use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::pkce::CodeChallenge;
use crate::site::Site;
use crate::store::{ClientRecord, ClientSource, ClientStore, Freshness, StoreError};
use crate::time::UnixTime;
use crate::types::{ClientId, Matching, ResourceUri, Scopes, State};

/// A request that passed every check.
#[derive(Debug)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: ClientRecord,
    /// Where the answer goes: a redirect URI the client registered.
    pub redirect: RegisteredRedirect,
    /// Echoed back unchanged (RFC 6749 §4.1.2).
    pub state: Option<State>,
    /// The PKCE S256 challenge (RFC 7636 §4.3).
    pub code_challenge: CodeChallenge,
    /// The app's canonical URL the token will be for (RFC 8707 §2).
    pub resource: String,
    /// The scopes that will be granted: asked for, offered by the app, allowed to the client.
    pub scopes: Scopes,
}

/// Why an authorization request failed, and where to say so.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Client or redirect URI not established: show a page, never redirect.
    Render(Reason),
    /// The redirect URI is the client's own: send the error there.
    Redirect {
        /// The client's redirect URI.
        to: RegisteredRedirect,
        /// The request's state, echoed.
        state: Option<State>,
        /// The error.
        error: OAuthError,
    },
    /// Storage failed: `503`.
    Store(StoreError),
    /// Migration mode: a `503` page with the operator's `Retry-After`.
    Paused(crate::migration::Paused),
}

impl From<crate::migration::Paused> for AuthorizeError {
    fn from(paused: crate::migration::Paused) -> Self {
        Self::Paused(paused)
    }
}

/// Runs every check on the query string of an authorization request.
pub async fn check(
    site: &Site<'_>,
    store: &(impl ClientStore + MetadataDocuments),
    lookup: ClientLookup<'_>,
    query: &str,
    now: UnixTime,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let render = AuthorizeError::Render;
    let params = Form::parse(query.as_bytes()).map_err(render)?;
    let client = check_client(store, lookup, &params, now).await?;
    let redirect = check_redirect_uri(&client, &params).map_err(render)?;
    // From here on errors go to the client. `state` is echoed only when well formed.
    let state = params
        .get("state")
        .ok()
        .flatten()
        .and_then(|s| State::parse(s).ok());
    let to_client = |reason: Reason| AuthorizeError::Redirect {
        to: redirect.clone(),
        state: state.clone(),
        error: OAuthError::from(reason),
    };
    if params.has_repeats() {
        return Err(to_client(Reason::DuplicateParameter));
    }
    let state = check_state(&params).map_err(to_client)?;
    check_response_type(&params).map_err(to_client)?;
    let code_challenge = check_pkce(&params).map_err(to_client)?;
    let resource = check_resource(site, &params).map_err(to_client)?;
    let scopes = check_scope(site, &params).map_err(to_client)?;
    Ok(AuthorizationRequest {
        client,
        redirect,
        state,
        code_challenge,
        resource,
        scopes,
    })
}

async fn check_client(
    store: &(impl ClientStore + MetadataDocuments),
    lookup: ClientLookup<'_>,
    params: &Form,
    now: UnixTime,
) -> Result<ClientRecord, AuthorizeError> {
    let render = AuthorizeError::Render;
    let id = params
        .get("client_id")
        .map_err(render)?
        .ok_or(render(Reason::ClientIdMissing))?;
    let id = ClientId::parse(id).map_err(|_| render(Reason::ClientUnknown))?;
    // A replica's record will do: what a stale one could let through (a client disabled a
    // moment ago reaching the consent page) ends at the token endpoint, which authenticates the
    // client on the primary; a client the replica does not know yet is read from the primary
    // (docs/storage.md, "Read replicas").
    match cimd::find_client(store, lookup, &id, now, Freshness::MayLag).await {
        Ok(client) => client.ok_or(render(Reason::ClientUnknown)),
        Err(LookupError::Refused(reason)) => Err(render(reason)),
        Err(LookupError::Store(e)) => Err(AuthorizeError::Store(e)),
    }
}

/// RFC 6749 §3.1.2.3 and OAuth 2.1 §2.3.1: the redirect URI must match a registered one
/// exactly, but for the loopback rules of [`RedirectUri::matches_as`] (any port, RFC 8252
/// §7.3; an empty path is `/`, RFC 3986 §6.2.3). It may be omitted only when the client
/// registered exactly one. A metadata document client's redirect URI must be one of its
/// document's (MCP 2025-11-25, "Client ID Metadata Documents": "validate redirect URIs match
/// exactly"), with any port for a loopback IP literal ([`Matching::Document`]).
fn check_redirect_uri(client: &ClientRecord, params: &Form) -> Result<RegisteredRedirect, Reason> {
    let matching = match client.source {
        ClientSource::MetadataDocument => Matching::Document,
        ClientSource::Dynamic => Matching::Registered,
    };
    let client = &client.metadata;
    match params.get("redirect_uri")? {
        Some(requested) => client
            .redirect_uris
            .iter()
            .find(|registered| registered.matches_as(requested, matching))
            .map(|_| RegisteredRedirect::new(requested))
            .ok_or(Reason::RedirectUriMismatch)?,
        None => match client.redirect_uris.as_slice() {
            [only] => RegisteredRedirect::new(only.as_str()),
            _ => Err(Reason::RedirectUriMissing),
        },
    }
}

fn check_state(params: &Form) -> Result<Option<State>, Reason> {
    params.get("state")?.map(State::parse).transpose()
}

/// OAuth 2.1 §4.1.1: `response_type` is `code`; the implicit grant is gone.
fn check_response_type(params: &Form) -> Result<(), Reason> {
    match params.get("response_type")? {
        Some("code") => Ok(()),
        Some(_) => Err(Reason::ResponseTypeUnsupported),
        None => Err(Reason::ResponseTypeMissing),
    }
}

/// OAuth 2.1 §4.1.1 and RFC 9700 §2.1.1: PKCE is required, and only `S256`.
fn check_pkce(params: &Form) -> Result<CodeChallenge, Reason> {
    let challenge = params
        .get("code_challenge")?
        .ok_or(Reason::PkceChallengeMissing)?;
    CodeChallenge::parse(challenge, params.get("code_challenge_method")?)
}

/// RFC 8707 §2: the resource must be one this server protects; without one, the app served on
/// this host is meant.
pub(crate) fn check_resource(site: &Site<'_>, params: &Form) -> Result<String, Reason> {
    let Some(requested) = params.get("resource")? else {
        return Ok(site.resource.clone());
    };
    let requested = ResourceUri::parse(requested)?;
    site.resource_for(&requested)
        .map(str::to_owned)
        .ok_or(Reason::ResourceUnknown)
}

/// RFC 6749 §3.3: the scopes granted are those asked for that the app offers; without a
/// `scope`, the app's defaults. Nothing left is `invalid_scope`.
///
/// A client's registered `scope` (RFC 7591 §2) does not narrow this. Every client here registered
/// itself or describes itself in its own document, so that list is the client's own claim: a
/// client held to it could register again with another, and holding it only turned step-ups away
/// (issue 17: the MCP TypeScript SDK and mcp-remote register the scope of their first `401`, then
/// ask for `write` after a `403 insufficient_scope`). What bounds a grant is what the app offers
/// and what the person approves on the consent page.
pub(crate) fn check_scope(site: &Site<'_>, params: &Form) -> Result<Scopes, Reason> {
    let requested = match params.get("scope")? {
        Some(scope) => Scopes::parse(scope)?,
        None => site.app.default_scopes.clone(),
    };
    let granted = narrow(&requested, site);
    if granted.is_empty() {
        Err(Reason::ScopeNotOffered)
    } else {
        Ok(granted)
    }
}

/// The part of `requested` that the app offers.
pub fn narrow(requested: &Scopes, site: &Site<'_>) -> Scopes {
    requested
        .iter()
        .filter(|s| site.app.scopes.iter().any(|(offered, _)| offered == *s))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
