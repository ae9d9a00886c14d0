//! The connected-agents page: every agent a person has let act for them at an app (one row per
//! grant, so two installations of one agent are two rows), and revoking one. The Worker renders
//! the view; revoking goes through the same path as every other revocation.

use crate::context::Context;
use crate::csrf;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::jose::signer::Signer;
use crate::paths;
use crate::rng::Rng;
use crate::store::{RevocationReason, Store, StoreError};
use crate::types::RedirectUri;

/// Field naming the grant to revoke.
pub const GRANT_FIELD: &str = "grant_id";

/// One connected agent.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ConnectedAgent {
    /// The grant: what revoking ends.
    pub grant_id: String,
    /// The agent's client id.
    pub client_id: String,
    /// The agent's registered name, or its client id.
    pub client_name: String,
    /// For an agent identified by a Client ID Metadata Document: the document's host.
    pub client_document_host: Option<String>,
    /// The full redirect URI of this grant: what tells two installations of one agent apart.
    pub redirect_uri: String,
    /// Where it receives codes: a host, or a native app's scheme.
    pub redirect_destination: String,
    /// Whether that is a program on the person's own machine.
    pub redirect_is_loopback: bool,
    /// The scopes it holds.
    pub scopes: Vec<String>,
    /// When the person approved it (Unix seconds).
    pub created_at: u64,
    /// When it last obtained tokens (Unix seconds).
    pub last_used_at: Option<u64>,
}

/// Everything the page shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AgentsView {
    /// The app.
    pub app_name: String,
    /// Who is looking.
    pub person_email: String,
    /// Their agents, newest first.
    pub agents: Vec<ConnectedAgent>,
    /// Where the revoke form posts.
    pub revoke_action: String,
}

/// The connected agents of the person logged in with `session`; `None` when nobody is.
pub async fn connected_agents<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    session: Option<&str>,
) -> Result<Option<AgentsView>, StoreError> {
    let Some(person) = crate::login::person(cx, session).await? else {
        return Ok(None);
    };
    let grants = cx
        .store
        .live_grants(&person.subject, &cx.site.resource)
        .await?;
    let agents = grants
        .into_iter()
        .map(|grant| {
            let redirect = RedirectUri::parse(&grant.redirect_uri).ok();
            ConnectedAgent {
                grant_id: grant.grant_id.as_str().to_owned(),
                client_name: crate::registration::neutralise_hidden_chars(
                    grant
                        .client_name
                        .as_deref()
                        .unwrap_or(grant.client_id.as_str()),
                ),
                client_document_host: crate::cimd::document_host(&grant.client_id),
                client_id: grant.client_id.as_str().to_owned(),
                redirect_uri: grant.redirect_uri.clone(),
                redirect_destination: redirect
                    .as_ref()
                    .map(|r| r.destination().to_owned())
                    .unwrap_or_default(),
                redirect_is_loopback: redirect.as_ref().is_some_and(RedirectUri::is_loopback),
                scopes: grant.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                created_at: grant.created_at.0,
                last_used_at: grant.last_used_at.map(|t| t.0),
            }
        })
        .collect();
    Ok(Some(AgentsView {
        app_name: cx.site.app.name.clone(),
        person_email: person.email,
        agents,
        revoke_action: cx.site.path(paths::AGENTS_REVOKE),
    }))
}

/// `POST` of a revoke button: CSRF-checked, and only a grant of this person at this app. One
/// revoked already is answered as revoked (the button of a page loaded before, or a retry
/// after a lost answer), and its revocation finished if a crash cut it short.
pub async fn revoke_agent<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    session: Option<&str>,
    csrf_cookie: Option<&str>,
) -> Result<(), Failure> {
    let form = Form::parse(body)?;
    csrf::verify(csrf_cookie, form.get(csrf::FIELD)?)?;
    let person = crate::login::person(cx, session)
        .await?
        .ok_or(Reason::AgentNotFound)?;
    let grant_id = GrantId::from_stored(form.require(GRANT_FIELD)?.to_owned());
    let grant = cx
        .store
        .grant(&grant_id)
        .await?
        .ok_or(Reason::AgentNotFound)?;
    if grant.person.subject != person.subject || grant.app != cx.site.resource {
        return Err(Reason::AgentNotFound.into());
    }
    crate::grants::live::revoke_grant_record(cx, &grant, RevocationReason::PersonRequest).await?;
    Ok(())
}
