//! The admin API, for operators and their automation: list an app's grants by person or client
//! (or all of them), revoke by grant, person, client or the whole app, disable a client
//! everywhere, read the audit log by person, client and time, and see the writes migration mode
//! holds.
//!
//! Two ways in: the `ADMIN_TOKEN` secret as a bearer token (automation; compared by hash in
//! constant time), or the browser session of a person the `ADMINS` policy admits (changes then
//! need the CSRF token too, so a cross-site page cannot ride the session). Without either
//! setting the API answers as if it did not exist.
//!
//! Every change is an `admin_action` audit event naming who made it, written before the change.
//! Revoking a person also ends their browser sessions: "when a person is cut off, their agents'
//! tokens die too".

pub mod audit;
pub mod clients;
pub mod console;
pub mod people;
pub mod state;

use serde::Serialize;

use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::gatekeeper::request::bearer_token;
use crate::grant_id::GrantId;
use crate::jose::signer::Signer;
use crate::migration::{DRAIN_BATCH, Held, HeldWrite};
use crate::model::audit::{AuditEvent, AuditKind, AuditQuery};
use crate::rng::Rng;
use crate::secret::AdminToken;
use crate::store::{GrantRecord, RevocationReason, Store};
use crate::time::UnixTime;
use crate::types::ClientId;

/// Most audit events one query returns.
pub const MAX_AUDIT_EVENTS: u32 = 500;

/// What a caller presents to the admin API.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdminCredentials<'a> {
    /// The `Authorization` header (`Bearer <ADMIN_TOKEN>`).
    pub authorization: Option<&'a str>,
    /// The raw session cookie of a browser.
    pub session: Option<&'a str>,
    /// The CSRF cookie of a browser.
    pub csrf_cookie: Option<&'a str>,
}

/// Who may use the admin API: the holder of `ADMIN_TOKEN` (its hash), and the people the
/// `ADMINS` policy admits. Neither set: the API answers as if it did not exist.
#[derive(Clone, Copy, Debug)]
pub struct Admins<'a> {
    /// The hash of `ADMIN_TOKEN`.
    pub token: Option<&'a crate::secret::SecretHash>,
    /// The `ADMINS` policy.
    pub people: Option<&'a crate::config::Policy>,
}

/// A grant as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct AdminGrant {
    /// The grant.
    pub grant_id: String,
    /// The person.
    pub subject: String,
    /// Their email.
    pub email: String,
    /// The agent.
    pub client_id: String,
    /// The scopes granted.
    pub scope: String,
    /// Where the agent receives codes.
    pub redirect_uri: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<u64>,
}

impl From<GrantRecord> for AdminGrant {
    fn from(grant: GrantRecord) -> Self {
        Self {
            grant_id: grant.grant_id.as_str().to_owned(),
            subject: grant.person.subject,
            email: grant.person.email,
            client_id: grant.client_id.as_str().to_owned(),
            scope: grant.scopes.to_string(),
            redirect_uri: grant.redirect_uri,
            created_at: grant.created_at.0,
            revoked_at: grant.revoked_at.map(|t| t.0),
        }
    }
}

/// An audit event as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct AdminAuditEvent {
    /// Unix seconds.
    pub at: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// What a revocation did.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Revoked {
    /// How many grants were revoked: live ones, and revoked ones whose revocation a crash had
    /// cut short and this request finished (by `grant_id`: the grant, revoked before or not).
    pub grants: usize,
}

/// Whom a request is about: `subject` and/or `client_id`, or `all=true` for the whole app.
/// Leaving every filter out is refused, never read as "everyone".
struct Filter {
    subject: Option<String>,
    client_id: Option<ClientId>,
}

impl Filter {
    fn parse(form: &Form) -> Result<Self, Reason> {
        let subject = form.get("subject")?.map(str::to_owned);
        let client_id = form.get("client_id")?.map(ClientId::parse).transpose()?;
        let all = form.get("all")? == Some("true");
        if subject.is_none() && client_id.is_none() && !all {
            return Err(Reason::AdminFilterRequired);
        }
        Ok(Self { subject, client_id })
    }
}

/// Who is calling: `admin-token`, or the email of a person `ADMINS` admits. A browser's
/// changes (`form` given) also need the CSRF token. `AdminApiOff` when neither way in is
/// configured.
pub(crate) async fn admin<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    form: Option<&Form>,
) -> Result<String, Failure> {
    if admins.token.is_none() && admins.people.is_none() {
        return Err(Reason::AdminApiOff.into());
    }
    let presented = bearer_token(credentials.authorization).ok().flatten();
    if let (Some(presented), Some(expected)) = (presented, admins.token) {
        if AdminToken::from_presented(presented).hash().ct_eq(expected) {
            return Ok("admin-token".to_owned());
        }
        return Err(Reason::AdminUnauthorized.into());
    }
    let Some(people) = admins.people else {
        return Err(Reason::AdminUnauthorized.into());
    };
    let person = crate::login::person(cx, credentials.session).await?;
    let Some(person) = person.filter(|p| people.admits_person(p)) else {
        return Err(Reason::AdminUnauthorized.into());
    };
    if let Some(form) = form {
        crate::csrf::verify(credentials.csrf_cookie, form.get(crate::csrf::FIELD)?)?;
    }
    Ok(person.email)
}

/// [`admin`] for the console's pages: a browser without a live session (none, expired
/// or ended) is told to sign in (`ConsoleSignInRequired`) rather than refused, so the page
/// can send it to the login page; a signed-in person outside `ADMINS` is told so
/// (`ConsoleNotAdmin`).
pub(crate) async fn console_admin<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    form: Option<&Form>,
) -> Result<String, Failure> {
    match admin(cx, admins, credentials, form).await {
        Err(Failure::OAuth { error, .. })
            if error.reason == Reason::AdminUnauthorized && credentials.authorization.is_none() =>
        {
            match crate::login::person(cx, credentials.session).await? {
                None => Err(Reason::ConsoleSignInRequired.into()),
                Some(_) => Err(Reason::ConsoleNotAdmin.into()),
            }
        }
        other => other,
    }
}

/// Records an administrator's change before it is made.
async fn admin_action<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    by: &str,
    action: &str,
    form: &Form,
) -> Result<(), Failure> {
    let field = |name| form.get(name).ok().flatten();
    let detail = serde_json::json!({
        "by": by,
        "action": action,
        "target": {
            "grant_id": field("grant_id"),
            "subject": field("subject"),
            "client_id": field("client_id"),
            "all": field("all") == Some("true"),
        },
    });
    Ok(cx
        .audit(AuditKind::AdminAction, None, None, None, detail)
        .await?)
}

/// `GET …/.gatehouse/admin/grants?subject=…&client_id=…` (or `all=true`).
pub async fn admin_grants<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<Vec<AdminGrant>, Failure> {
    admin(cx, admins, credentials, None).await?;
    let filter = Filter::parse(&Form::parse(query.as_bytes())?)?;
    let grants = cx
        .store
        .grants_matching(
            Some(&cx.site.resource),
            filter.subject.as_deref(),
            filter.client_id.as_ref(),
        )
        .await?;
    Ok(grants.into_iter().map(AdminGrant::from).collect())
}

/// `POST …/.gatehouse/admin/revoke` with `grant_id`, or `subject` and/or `client_id`, or
/// `all=true`: revokes the matching live grants at this app; revoking a person also ends
/// their sessions.
pub async fn admin_revoke<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<Revoked, Failure> {
    let form = Form::parse(body)?;
    let by = admin(cx, admins, credentials, Some(&form)).await?;
    let grants: Vec<GrantRecord> = match form.get("grant_id")? {
        Some(id) => {
            let grant = cx.store.grant(&GrantId::from_stored(id.to_owned())).await?;
            admin_action(cx, &by, "revoke", &form).await?;
            // Revoked before or not: the answer to a retried request is the first one's.
            grant
                .filter(|g| g.app == cx.site.resource)
                .into_iter()
                .collect()
        }
        None => {
            let filter = Filter::parse(&form)?;
            admin_action(cx, &by, "revoke", &form).await?;
            if let Some(subject) = &filter.subject {
                cx.store
                    .write_or_hold(
                        HeldWrite::EndSessionsOf {
                            subject: subject.clone(),
                            at: cx.now,
                        },
                        cx.now,
                    )
                    .await?;
            }
            unsettled_grants(
                cx,
                Some(&cx.site.resource),
                filter.subject.as_deref(),
                filter.client_id.as_ref(),
            )
            .await?
        }
    };
    revoke_all(cx, &grants, RevocationReason::AdminRequest).await
}

/// `POST …/.gatehouse/admin/clients/disable` with `client_id`: the client can no longer
/// authenticate, authorize or refresh at any app, and every grant it holds, at every app,
/// is revoked. A write that cannot wait for migration mode to end is still refused then,
/// because a disabled client must stay disabled in D1.
pub async fn admin_disable_client<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<Revoked, Failure> {
    let form = Form::parse(body)?;
    let by = admin(cx, admins, credentials, Some(&form)).await?;
    cx.store.writable()?;
    let client_id = ClientId::parse(form.require("client_id")?)?;
    admin_action(cx, &by, "disable_client", &form).await?;
    cx.store.disable_client(&client_id, cx.now).await?;
    let grants = unsettled_grants(cx, None, None, Some(&client_id)).await?;
    revoke_all(cx, &grants, RevocationReason::ClientDisabled).await
}

/// `GET …/.gatehouse/admin/audit?subject=…&client_id=…&since=…&until=…&limit=…`: the app's
/// events, newest first; `since` and `until` are Unix seconds, inclusive.
pub async fn admin_audit<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<Vec<AdminAuditEvent>, Failure> {
    admin(cx, admins, credentials, None).await?;
    let form = Form::parse(query.as_bytes())?;
    let number = |name| -> Result<Option<u64>, Reason> {
        form.get(name)?
            .map(|v| v.parse::<u64>().map_err(|_| Reason::AdminBadNumber))
            .transpose()
    };
    let limit = number("limit")?
        .map_or(100, |l| u32::try_from(l).unwrap_or(u32::MAX))
        .min(MAX_AUDIT_EVENTS);
    let events = cx
        .store
        .events(&AuditQuery {
            app: &cx.site.resource,
            subject: form.get("subject")?,
            client_id: form.get("client_id")?,
            since: number("since")?.map(UnixTime),
            until: number("until")?.map(UnixTime),
            kind: None,
            before: None,
            limit,
        })
        .await?;
    Ok(events
        .into_iter()
        .map(|e| AdminAuditEvent {
            at: e.at.0,
            event: e.event,
        })
        .collect())
}

/// `GET …/.gatehouse/admin/held`: the writes migration mode (or an outage) holds in KV
/// until the drain writes them to D1, each with its failures, last error and next try when
/// a drain failed to write it.
pub async fn admin_held<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
) -> Result<Vec<Held>, Failure> {
    admin(cx, admins, credentials, None).await?;
    Ok(cx.store.held(DRAIN_BATCH).await?)
}

/// The live grants, and the revoked ones whose revocation is not settled (a crash cut it
/// short): what a revocation by filter revokes, or finishes.
async fn unsettled_grants<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    app: Option<&str>,
    subject: Option<&str>,
    client_id: Option<&ClientId>,
) -> Result<Vec<GrantRecord>, Failure> {
    Ok(cx
        .store
        .grants_matching(app, subject, client_id)
        .await?
        .into_iter()
        .filter(|g| g.revocation_settled_at.is_none())
        .collect())
}

async fn revoke_all<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    grants: &[GrantRecord],
    reason: RevocationReason,
) -> Result<Revoked, Failure> {
    for grant in grants {
        crate::grants::live::revoke_grant_record(cx, grant, reason).await?;
    }
    Ok(Revoked {
        grants: grants.len(),
    })
}
