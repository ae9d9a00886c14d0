//! The gatekeeper: every request to a protected app passes here. A person's browser without a
//! session is sent to the login page; anything else without credentials gets a `401` whose
//! `WWW-Authenticate` leads an agent to a token (RFC 6750 §3, RFC 9728 §5.1). A valid token or
//! session is checked against the app's policy and route scopes on every request, and what
//! passes is forwarded with an identity assertion (see [`assertion`]). The method and the path
//! judged are the ones forwarded: any method, as sent ([`route::required_scopes`] says what a
//! method no rule names needs), and only paths every common origin reads alike ([`path`]).

pub mod access;
pub mod assertion;
pub mod path;
pub mod request;
pub mod route;

use crate::access_token::{AccessTokenClaims, VerifyError};
use crate::context::Context;
use crate::error::{OAuthError, Reason};
use crate::grant_id::GrantId;
use crate::http::challenge;
use crate::jose::signer::Signer;
use crate::paths;
use crate::rng::Rng;
use crate::store::{Person, RevocationReason, Store, StoreError};
use crate::time::UnixTime;
use crate::types::{Scope, Scopes};

/// What the gatekeeper reads from a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct GateRequest<'a> {
    /// The HTTP method, as the runtime gives it (a token, RFC 9110 §9.1).
    pub method: &'a str,
    /// The URL path, as the request has it (checked by [`path::check`] before anything else).
    pub path: &'a str,
    /// Whether the request carries a body.
    pub has_body: bool,
    /// The URL query, if any.
    pub query: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The raw session cookie.
    pub session: Option<&'a str>,
    /// The `Accept` header.
    pub accept: Option<&'a str>,
    /// The `Sec-Fetch-Mode` header.
    pub sec_fetch_mode: Option<&'a str>,
    /// The `Access-Control-Request-Method` header: present on a CORS preflight.
    pub cors_request_method: Option<&'a str>,
}

/// Who a request is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The person, in their own browser or through an agent.
    pub person: Person,
    /// The agent acting for them, if any.
    pub agent: Option<Agent>,
    /// The scopes in force: the token's for an agent, every scope of the app for the person.
    pub scopes: Scopes,
}

/// An agent acting for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Its client id.
    pub client_id: String,
    /// Its registered name.
    pub client_name: Option<String>,
    /// The grant it acts under.
    pub grant_id: String,
}

/// The gatekeeper's answer.
#[derive(Debug)]
pub enum Gate {
    /// A request whose path or framing the origin could read otherwise than the gate: `400`
    /// with this error, nothing forwarded (see [`path::check`], [`request::check_body`]).
    Refused(OAuthError),
    /// A public path: forward without identity.
    Public,
    /// Forward with this identity.
    Allow(Identity),
    /// A browser without a session: `302` to the login page.
    SignIn {
        /// The login page, with the way back.
        location: String,
    },
    /// Refused with a Bearer challenge (`401`, `403` for insufficient scope, `400` for a token
    /// in the query string).
    Challenge {
        /// The status.
        status: u16,
        /// The `WWW-Authenticate` value.
        www_authenticate: String,
        /// What was wrong with the credentials presented, if any were.
        error: Option<OAuthError>,
    },
    /// A logged-in person whom the app's policy does not admit: a `403` page.
    Forbidden(Person),
}

/// Verifies access tokens. The Worker's implementation caches results per isolate; the plain
/// one is [`crate::access_token::verify`] with the server's keys.
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait TokenVerifier {
    /// The token's claims, if it is one this issuer signed and it has not expired.
    async fn verify(
        &self,
        token: &str,
        issuer: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, VerifyError>;
}

impl<K: Signer> TokenVerifier for K {
    async fn verify(
        &self,
        token: &str,
        issuer: &str,
        now: UnixTime,
    ) -> Result<AccessTokenClaims, VerifyError> {
        crate::access_token::verify(self, token, issuer, now).await
    }
}

/// Decides what happens to a request for the protected app.
pub async fn gate<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    req: &GateRequest<'_>,
    verifier: &impl TokenVerifier,
) -> Result<Gate, StoreError> {
    let gate = judge(cx, req, verifier).await?;
    // The decision's log line: who passed, or why not ([`crate::decision`]).
    match &gate {
        Gate::Refused(error) => cx.decision.refused(error.reason),
        Gate::Challenge {
            error: Some(error), ..
        } => cx.decision.refused(error.reason),
        Gate::Allow(identity) => {
            let agent = identity.agent.as_ref();
            cx.decision.acting(
                &identity.person.subject,
                agent.map(|a| a.client_id.as_str()),
                agent.map(|a| a.grant_id.as_str()),
            );
        }
        Gate::Forbidden(person) => {
            cx.decision.acting(&person.subject, None, None);
            cx.decision.refused(Reason::PolicyDenied);
        }
        // No token, no session: the challenge is all there is to say (RFC 6750 §3.1: "If the
        // request lacks any authentication information […], the resource server SHOULD NOT
        // include an error code"), and nothing of it is worth a log line.
        Gate::Challenge { error: None, .. }
            if req.authorization.is_none() && req.session.is_none() =>
        {
            cx.decision.nothing_decided()
        }
        Gate::Public | Gate::SignIn { .. } | Gate::Challenge { error: None, .. } => {}
    }
    Ok(gate)
}

async fn judge<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    req: &GateRequest<'_>,
    verifier: &impl TokenVerifier,
) -> Result<Gate, StoreError> {
    let app = cx.site.app;
    // First of all: a public path or a preflight is forwarded too, so it must be the path,
    // and the request, the origin will act on.
    let path = match path::check(req.path)
        .and_then(|path| request::check_body(req.method, req.has_body).map(|()| path))
    {
        Ok(path) => path,
        Err(reason) => return Ok(Gate::Refused(reason.into())),
    };
    if app.public_paths.iter().any(|p| p.matches(path.as_str())) {
        return Ok(Gate::Public);
    }
    // A CORS preflight never carries credentials (Fetch standard, "CORS-preflight request"),
    // so it goes to the origin, which answers it, without an identity; the request it
    // announces is checked like any other.
    if req.method.eq_ignore_ascii_case("OPTIONS") && req.cors_request_method.is_some() {
        return Ok(Gate::Public);
    }
    let required = route::required_scopes(&app.routes, req.method, &path);
    // RFC 6750 §2.3 allows it; RFC 9700 §4.3.2 forbids clients to: a token in a URL is
    // treated as leaked and refused, whatever else the request carries.
    if request::token_in_query(req.query) {
        return Ok(challenge(cx, 400, &required, Some(Reason::TokenInQuery)));
    }
    match request::bearer_token(req.authorization) {
        Err(reason) => Ok(challenge(cx, 401, &required, Some(reason))),
        Ok(Some(token)) => gate_token(cx, token, &required, verifier).await,
        Ok(None) => gate_session(cx, req, &required).await,
    }
}

async fn gate_token<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    token: &str,
    required: &[&Scope],
    verifier: &impl TokenVerifier,
) -> Result<Gate, StoreError> {
    let refuse = |reason| Ok(challenge(cx, 401, required, Some(reason)));
    if !cx.site.app.agents {
        return refuse(Reason::AgentsNotAdmitted);
    }
    let claims = match verifier.verify(token, &cx.site.issuer, cx.now).await {
        Ok(claims) => claims,
        Err(VerifyError::Invalid(reason)) => return refuse(reason),
        Err(VerifyError::Store(error)) => return Err(error),
    };
    // From here on, a refusal is of this person's agent: its log line names them.
    cx.decision
        .acting(&claims.sub, Some(&claims.client_id), Some(&claims.grant_id));
    // RFC 9068 §4: the audience must be this resource. The issuer check already ties the
    // token to this host; this also refuses tokens of another app sharing the host.
    if claims.aud != cx.site.resource {
        return refuse(Reason::TokenAudienceMismatch);
    }
    let grant_id = GrantId::from_stored(claims.grant_id.clone());
    if cx.store.is_grant_denied(&grant_id).await? {
        return refuse(Reason::TokenRevoked);
    }
    if !cx.site.app.policy.admits(&claims.email, &claims.groups) {
        // The policy changed since the token was issued: the grant goes, so no refresh
        // or cached consent brings the person's agent back.
        crate::grants::live::revoke_grant(cx, &grant_id, RevocationReason::PolicyChanged).await?;
        return refuse(Reason::TokenPolicyDenied);
    }
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    if required.iter().any(|scope| !scopes.contains(scope)) {
        // RFC 6750 §3.1: insufficient_scope is 403, and `scope` says what is needed.
        return Ok(challenge(
            cx,
            403,
            required,
            Some(Reason::InsufficientScope),
        ));
    }
    Ok(Gate::Allow(Identity {
        person: Person {
            subject: claims.sub,
            email: claims.email,
            groups: claims.groups,
        },
        agent: Some(Agent {
            client_id: claims.client_id,
            client_name: claims.client_name,
            grant_id: claims.grant_id,
        }),
        scopes,
    }))
}

async fn gate_session<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    req: &GateRequest<'_>,
    required: &[&Scope],
) -> Result<Gate, StoreError> {
    if let Some(person) = crate::login::person(cx, req.session).await? {
        if !crate::policy::admits(&cx.site, &person) {
            return Ok(Gate::Forbidden(person));
        }
        let scopes = cx
            .site
            .app
            .scopes
            .iter()
            .map(|(scope, _)| scope.clone())
            .collect();
        return Ok(Gate::Allow(Identity {
            person,
            agent: None,
            scopes,
        }));
    }
    if crate::http::negotiation::is_browser_navigation(req.method, req.accept, req.sec_fetch_mode) {
        let back = match req.query {
            Some(query) => format!("{}?{query}", req.path),
            None => req.path.to_owned(),
        };
        let return_to: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        return Ok(Gate::SignIn {
            location: format!("{}?return_to={return_to}", cx.site.path(paths::LOGIN)),
        });
    }
    Ok(challenge(cx, 401, required, None))
}

/// A Bearer challenge naming the scopes the route needs (RFC 6750 §3: "a space-delimited
/// list"), or else the app's default scopes.
fn challenge<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    status: u16,
    required: &[&Scope],
    reason: Option<Reason>,
) -> Gate {
    let scope = match required {
        [] => cx.site.app.default_scopes.to_string(),
        [one] => one.as_str().to_owned(),
        many => many
            .iter()
            .map(|scope| scope.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    let error = reason.map(OAuthError::from);
    Gate::Challenge {
        status,
        www_authenticate: challenge::bearer(
            &cx.site.resource_metadata_url(),
            Some(&scope),
            error.as_ref(),
        ),
        error,
    }
}
