//! The consent step: what the consent page shows (a view model; the Worker renders it) and the
//! person's submitted decision.
//!
//! The page re-submits the original authorization request's query string, which is checked
//! again from scratch on submission, so nothing the page carries is trusted.

use crate::authorize::AuthorizationRequest;
use crate::context::Context;
use crate::csrf;
use crate::error::Reason;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::model::audit::AuditKind;
use crate::paths;
use crate::registration::neutralise_hidden_chars;
use crate::rng::Rng;
use crate::site::Site;
use crate::store::{ConsentRecord, GrantRecord, Person, Store, StoreError};
use crate::types::{ClientId, Scopes};

/// Field carrying the original authorization request's query string.
pub const REQUEST_FIELD: &str = "authorization_request";
/// Field carrying the decision: `approve` or `deny`.
pub const DECISION_FIELD: &str = "decision";

/// Everything the consent page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentPrompt {
    /// The agent's registered name, or its client id when it gave none, with any character
    /// that could hide or reorder text replaced (`registration::neutralise_hidden_chars`).
    /// Only a metadata document client's name comes with a verified host
    /// ([`client_document_host`](Self::client_document_host)); a self-registered name is
    /// whatever the agent chose, and the page says it is not verified.
    pub client_name: String,
    /// The client id, shown small for the curious.
    pub client_id: String,
    /// For a client identified by a metadata document URL: that URL's host, shown next to the
    /// name ("client identified by https://host/…"), since the name is the document's claim
    /// and the host is what vouches for it.
    pub client_document_host: Option<String>,
    /// Where the person will be sent back: a host, or a native app's scheme.
    pub redirect_destination: String,
    /// The redirect goes to a program on the person's own machine: warn.
    pub redirect_is_loopback: bool,
    /// The redirect goes to an app on this device through a private-use scheme (RFC 8252
    /// §7.1); [`redirect_destination`](Self::redirect_destination) is then the scheme.
    pub redirect_is_app: bool,
    /// A metadata document client's redirect goes to a host that is neither loopback nor its
    /// document's host: the person is warned that the code leaves the client's own site.
    pub redirect_leaves_document_host: bool,
    /// The app's name.
    pub app_name: String,
    /// The app's URL.
    pub app_url: String,
    /// Each scope asked for, with the app's description of it.
    pub scopes: Vec<(String, String)>,
    /// Who is logged in.
    pub person_email: String,
    /// The authorization request to re-submit.
    pub request: String,
    /// Where the form posts: the consent path under the app's prefix.
    pub action: String,
}

/// How the pages name the client of a checked request: its registered name (or its client id
/// when it gave none) with every character that could hide or reorder text replaced, and, for a
/// metadata document client, the document's host, which is what vouches for the name.
pub fn client_identity(request: &AuthorizationRequest) -> (String, Option<String>) {
    let client = &request.client;
    let name = neutralise_hidden_chars(
        client
            .metadata
            .client_name
            .as_deref()
            .unwrap_or(client.client_id.as_str()),
    );
    let document_host = (client.source == crate::store::ClientSource::MetadataDocument)
        .then(|| crate::cimd::document_host(&client.client_id))
        .flatten();
    (name, document_host)
}

impl ConsentPrompt {
    /// The prompt for a checked request.
    pub fn new(
        site: &Site<'_>,
        request: &AuthorizationRequest,
        person: &Person,
        query: &str,
    ) -> Self {
        let (client_name, client_document_host) = client_identity(request);
        let redirect = &request.redirect;
        let redirect_leaves_document_host = client_document_host.as_deref().is_some_and(|host| {
            !redirect.is_loopback() && !redirect.is_private_use() && redirect.destination() != host
        });
        Self {
            client_name,
            client_id: request.client.client_id.as_str().to_owned(),
            client_document_host,
            redirect_destination: redirect.destination().to_owned(),
            redirect_is_loopback: redirect.is_loopback(),
            redirect_is_app: redirect.is_private_use(),
            redirect_leaves_document_host,
            app_name: site.app.name.clone(),
            app_url: site.resource.clone(),
            scopes: describe_scopes(site, &request.scopes),
            person_email: person.email.clone(),
            request: query.to_owned(),
            action: site.path(paths::CONSENT),
        }
    }
}

/// Whether consent on record lets `request` through without asking the person again: it
/// covers every scope asked for and, for a public client, was given for this very redirect
/// URI, loopback port included.
///
/// RFC 8252 §8.6: "the authorization server SHOULD NOT process authorization requests
/// automatically without user consent or interaction, except when the identity of the client
/// can be assured". A public client proves no identity, and RFC 8252 §7.3 lets any loopback
/// port match its registration, so without this rule any program on the person's machine (or
/// a page that can make it listen) could name the client, pick a port of its own, and receive
/// a code for the person without a prompt. Confidential clients authenticate at the token
/// endpoint, so a code sent elsewhere is useless without their credentials: their consent
/// holds for any of their registered redirect URIs, as before.
pub fn remembered(consent: Option<&ConsentRecord>, request: &AuthorizationRequest) -> bool {
    let Some(consent) = consent else {
        return false;
    };
    if !request.scopes.is_subset_of(&consent.scopes) {
        return false;
    }
    request
        .client
        .metadata
        .token_endpoint_auth_method
        .is_confidential()
        || consent.redirect_uri.as_deref() == Some(request.redirect.as_str())
}

/// Each scope with the app's description of it (empty when the app gives none), for a consent
/// screen.
pub fn describe_scopes(site: &Site<'_>, scopes: &Scopes) -> Vec<(String, String)> {
    scopes
        .iter()
        .map(|scope| {
            let description = site
                .app
                .scopes
                .iter()
                .find(|(s, _)| s == scope)
                .map(|(_, d)| d.clone());
            (scope.as_str().to_owned(), description.unwrap_or_default())
        })
        .collect()
}

/// The person's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Let the agent in.
    Approve,
    /// Refuse.
    Deny,
}

/// A submitted consent form whose CSRF token matched.
#[derive(Debug)]
pub struct Submitted {
    /// The original authorization request's query string.
    pub request: String,
    /// The decision.
    pub decision: Decision,
}

impl Submitted {
    /// Parses the form and checks its CSRF token against the cookie.
    pub fn parse(body: &[u8], csrf_cookie: Option<&str>) -> Result<Self, Reason> {
        let form = Form::parse(body)?;
        csrf::verify(csrf_cookie, form.get(csrf::FIELD)?)?;
        let decision = match form.require(DECISION_FIELD)? {
            "approve" => Decision::Approve,
            "deny" => Decision::Deny,
            _ => return Err(Reason::MalformedBody),
        };
        Ok(Self {
            request: form.require(REQUEST_FIELD)?.to_owned(),
            decision,
        })
    }
}

/// Records that `person` approved `client_id` for `scopes` at this app, for a request with
/// `redirect_uri` (`None` for the device grant). Consent only widens: approving `write` keeps
/// an earlier `read`. The redirect URI is the latest approved one; a device approval keeps the
/// one on record.
pub(crate) async fn remember_consent<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    person: &Person,
    client_id: &ClientId,
    scopes: &Scopes,
    redirect_uri: Option<&str>,
) -> Result<(), StoreError> {
    let app = &cx.site.resource;
    let earlier = cx.store.consent(&person.subject, client_id, app).await?;
    let consent = ConsentRecord {
        scopes: earlier
            .as_ref()
            .map_or_else(|| scopes.clone(), |e| e.scopes.union(scopes)),
        redirect_uri: redirect_uri
            .map(str::to_owned)
            .or_else(|| earlier.and_then(|e| e.redirect_uri)),
    };
    cx.store
        .put_consent(&person.subject, client_id, app, &consent, cx.now)
        .await
}

/// A new grant: `person` lets `client_id` act at `app` with `scopes`; the client stops lapsing
/// and the grant is audited. `redirect_uri` tells installations apart (empty for a device,
/// which has none).
pub(crate) async fn create_grant<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    person: &Person,
    client_id: &ClientId,
    app: &str,
    scopes: &Scopes,
    redirect_uri: &str,
) -> Result<GrantRecord, StoreError> {
    let grant = GrantRecord {
        grant_id: GrantId::issue(cx.rng),
        person: person.clone(),
        client_id: client_id.clone(),
        app: app.to_owned(),
        scopes: scopes.clone(),
        redirect_uri: redirect_uri.to_owned(),
        created_at: cx.now,
        revoked_at: None,
        revoked_reason: None,
        revocation_settled_at: None,
    };
    cx.store.insert_grant(&grant).await?;
    cx.store.mark_client_used(client_id, cx.now).await?;
    let detail = serde_json::json!({ "scope": grant.scopes.to_string() });
    cx.audit(
        AuditKind::GrantCreated,
        Some(&person.subject),
        Some(&grant.client_id),
        Some(&grant.grant_id),
        detail,
    )
    .await?;
    Ok(grant)
}
