//! The admin console's grants page: the admin API's grants listing with more filters (person by
//! subject or email, client, app, scope, state), and revoking one or many grants from a form.
//! The Worker renders the view; revoking goes through the one revocation path
//! (`grants::live::revoke_grant_record`), like the admin API's.
//!
//! Bounds: the store returns the newest [`MAX_CONSOLE_GRANTS`] grants matching the person's
//! subject, the client and the app (the indexed filters); the scope, state and email filters
//! narrow those rows, so the view says when the store's bound was reached.

use serde::Serialize;

use super::{Admins, console_admin};
use crate::admin::{AdminCredentials, Revoked};
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::jose::signer::Signer;
use crate::paths;
use crate::rng::Rng;
use crate::store::{GrantRecord, RevocationReason, Store};
use crate::types::ClientId;

/// The store's bound on one grants query (`Store::grants_matching`).
pub const MAX_CONSOLE_GRANTS: usize = 500;

/// Field naming a grant to revoke; repeated, one per checked box.
pub const GRANT_FIELD: &str = "grant_id";

/// Field carrying the filter to return to after a revocation.
pub const RETURN_FIELD: &str = "return";

/// Query field of the page a revocation redirects to: how many grants it revoked.
pub const REVOKED_FIELD: &str = "revoked";

/// Which grants by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Not revoked (the default: what an admin usually acts on).
    #[default]
    Live,
    /// Revoked.
    Revoked,
    /// Both.
    Any,
}

impl GrantState {
    /// The `state` parameter's values.
    pub const ALL: [GrantState; 3] = [GrantState::Live, GrantState::Revoked, GrantState::Any];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Live => "live",
            GrantState::Revoked => "revoked",
            GrantState::Any => "any",
        }
    }

    fn parse(value: &str) -> Result<Self, Reason> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or(Reason::ConsoleBadFilter)
    }

    fn admits(self, grant: &GrantRecord) -> bool {
        match self {
            GrantState::Live => grant.revoked_at.is_none(),
            GrantState::Revoked => grant.revoked_at.is_some(),
            GrantState::Any => true,
        }
    }
}

/// The grants page's filter, parsed from its query string; each field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GrantsFilter {
    /// A person: their email (compared case-insensitively) or their subject (`local:…`).
    pub person: Option<String>,
    /// A client id.
    pub client_id: Option<String>,
    /// `true`: every app's grants; otherwise this app's.
    pub all_apps: bool,
    /// A scope the grant must hold.
    pub scope: Option<String>,
    /// Live, revoked or both.
    pub state: GrantState,
}

impl GrantsFilter {
    /// Parses `person`, `client_id`, `app` (`all` or absent), `scope` and `state`.
    pub fn parse(query: &str) -> Result<Self, Reason> {
        let form = Form::parse(query.as_bytes())?;
        let text = |name| -> Result<Option<String>, Reason> {
            Ok(form
                .get(name)?
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned))
        };
        let client_id = text("client_id")?;
        if let Some(client_id) = &client_id {
            ClientId::parse(client_id)?;
        }
        let all_apps = match form.get("app")? {
            None | Some("this") => false,
            Some("all") => true,
            Some(_) => return Err(Reason::ConsoleBadFilter),
        };
        let state = form
            .get("state")?
            .map_or(Ok(GrantState::Live), GrantState::parse)?;
        Ok(Self {
            person: text("person")?,
            client_id,
            all_apps,
            scope: text("scope")?,
            state,
        })
    }

    /// The filter as a query string (without `?`), to come back to it.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("person", self.person.as_deref()),
            ("client_id", self.client_id.as_deref()),
            ("app", self.all_apps.then_some("all")),
            ("scope", self.scope.as_deref()),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair("state", self.state.as_str());
        query.finish()
    }

    /// Whether `person` is an email rather than a subject: subjects carry their issuer's prefix
    /// (`local:alice@example.com`), emails have no `:`.
    fn is_email(&self) -> bool {
        self.person
            .as_deref()
            .is_some_and(|p| p.contains('@') && !p.contains(':'))
    }

    fn admits(&self, grant: &GrantRecord) -> bool {
        let email = match (&self.person, self.is_email()) {
            (Some(person), true) => grant.person.email.eq_ignore_ascii_case(person),
            _ => true,
        };
        let scope = self
            .scope
            .as_deref()
            .is_none_or(|wanted| grant.scopes.iter().any(|s| s.as_str() == wanted));
        email && scope && self.state.admits(grant)
    }
}

/// One grant as the console lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleGrant {
    /// The grant.
    pub grant_id: String,
    /// The person's subject.
    pub subject: String,
    /// The person's email.
    pub email: String,
    /// The agent.
    pub client_id: String,
    /// The app (its canonical URL).
    pub app: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when revoked.
    pub revoked_at: Option<u64>,
    /// Why, when revoked.
    pub revoked_reason: Option<RevocationReason>,
}

impl From<GrantRecord> for ConsoleGrant {
    fn from(grant: GrantRecord) -> Self {
        Self {
            grant_id: grant.grant_id.as_str().to_owned(),
            subject: grant.person.subject,
            email: grant.person.email,
            client_id: grant.client_id.as_str().to_owned(),
            app: grant.app,
            scopes: grant.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: grant.created_at.0,
            revoked_at: grant.revoked_at.map(|t| t.0),
            revoked_reason: grant.revoked_reason,
        }
    }
}

/// The console's pages, under this app's prefix: every page links to the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleLinks {
    /// The grants page.
    pub grants: String,
    /// The agents (clients) page.
    pub agents: String,
    /// The people page.
    pub people: String,
    /// The audit page.
    pub audit: String,
    /// The state page (migration mode, held writes, health).
    pub state: String,
}

/// The console's pages at this app.
pub(crate) fn console_links(site: &crate::site::Site<'_>) -> ConsoleLinks {
    ConsoleLinks {
        grants: site.path(paths::ADMIN_CONSOLE_GRANTS),
        agents: site.path(paths::ADMIN_CONSOLE_CLIENTS),
        people: site.path(paths::ADMIN_CONSOLE_PEOPLE),
        audit: site.path(paths::ADMIN_CONSOLE_AUDIT),
        state: site.path(paths::ADMIN_CONSOLE_STATE),
    }
}

/// Everything the grants page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleGrants {
    /// Who is looking (`admin-token` or an admin's email).
    pub admin: String,
    /// The app the console is served for.
    pub app_name: String,
    /// The filter in effect.
    pub filter: GrantsFilter,
    /// The grants it admits, newest first.
    pub grants: Vec<ConsoleGrant>,
    /// Whether the store's bound cut the rows short (narrow the filter to see older grants).
    pub truncated: bool,
    /// How many grants the revocation that led here revoked (`revoked=` in the query).
    pub revoked: Option<u64>,
    /// Where the filter form submits (`GET`).
    pub list_action: String,
    /// The console's pages.
    pub links: ConsoleLinks,
    /// Where the revoke form posts.
    pub revoke_action: String,
}

/// `GET …/.gatehouse/admin/console/grants?person=…&client_id=…&app=all&scope=…&state=…`.
pub async fn console_grants<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<ConsoleGrants, Failure> {
    let admin = console_admin(cx, admins, credentials, None).await?;
    let filter = GrantsFilter::parse(query)?;
    let revoked = Form::parse(query.as_bytes())?
        .get(REVOKED_FIELD)?
        .and_then(|n| n.parse().ok());
    let client_id = filter
        .client_id
        .as_deref()
        .map(ClientId::parse)
        .transpose()?;
    let subject = filter.person.as_deref().filter(|_| !filter.is_email());
    let rows = cx
        .store
        .grants_matching(
            (!filter.all_apps).then_some(cx.site.resource.as_str()),
            subject,
            client_id.as_ref(),
        )
        .await?;
    let truncated = rows.len() >= MAX_CONSOLE_GRANTS;
    let grants = rows
        .into_iter()
        .filter(|g| filter.admits(g))
        .map(ConsoleGrant::from)
        .collect();
    Ok(ConsoleGrants {
        admin,
        app_name: cx.site.app.name.clone(),
        filter,
        grants,
        truncated,
        revoked,
        list_action: cx.site.path(paths::ADMIN_CONSOLE_GRANTS),
        revoke_action: cx.site.path(paths::ADMIN_CONSOLE_REVOKE),
        links: super::console::console_links(&cx.site),
    })
}

/// `POST …/.gatehouse/admin/console/grants/revoke` with one `grant_id` per checked grant
/// and the CSRF token: revokes each (at any app; an unknown id is skipped), recording one
/// `admin_action` event naming them all first. Revoking a grant revoked before finishes
/// its revocation if a crash cut it short, and is otherwise a no-op, so a retried form
/// revokes nothing twice. Returns what was revoked and the page to go back to (its
/// filter, and how many were revoked).
pub async fn console_revoke<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<(Revoked, String), Failure> {
    let form = Form::parse(body)?;
    let by = console_admin(cx, admins, credentials, Some(&form)).await?;
    let ids = form.all(GRANT_FIELD);
    if ids.is_empty() {
        return Err(Reason::ConsoleNothingSelected.into());
    }
    if ids.len() > MAX_CONSOLE_GRANTS {
        return Err(Reason::ConsoleBadFilter.into());
    }
    let back = GrantsFilter::parse(form.get(RETURN_FIELD)?.unwrap_or_default())
        .unwrap_or_default()
        .query();
    let detail = serde_json::json!({
        "by": by,
        "action": "revoke",
        "target": { "grant_ids": ids },
    });
    cx.audit(
        crate::model::audit::AuditKind::AdminAction,
        None,
        None,
        None,
        detail,
    )
    .await?;
    let mut grants = Vec::with_capacity(ids.len());
    for id in ids {
        let grant = cx.store.grant(&GrantId::from_stored(id.to_owned())).await?;
        grants.extend(grant.filter(|g| g.revocation_settled_at.is_none()));
    }
    for grant in &grants {
        crate::grants::live::revoke_grant_record(cx, grant, RevocationReason::AdminRequest).await?;
    }
    let back = format!(
        "{}?{back}&{REVOKED_FIELD}={}",
        cx.site.path(paths::ADMIN_CONSOLE_GRANTS),
        grants.len()
    );
    Ok((
        Revoked {
            grants: grants.len(),
        },
        back,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_round_trips_through_its_query() {
        let filter = GrantsFilter::parse(
            "person=Alice%40example.com&client_id=c_1&app=all&scope=read&state=any",
        )
        .unwrap();
        assert_eq!(filter.person.as_deref(), Some("Alice@example.com"));
        assert!(filter.all_apps);
        assert_eq!(filter.state, GrantState::Any);
        assert_eq!(GrantsFilter::parse(&filter.query()).unwrap(), filter);
    }

    #[test]
    fn an_empty_filter_means_this_apps_live_grants() {
        let filter = GrantsFilter::parse("person=&scope=+").unwrap();
        assert_eq!(filter, GrantsFilter::default());
        assert_eq!(filter.query(), "state=live");
    }

    #[test]
    fn unknown_filter_values_are_refused() {
        for query in ["state=dead", "app=other", "state=live&state=any"] {
            assert!(GrantsFilter::parse(query).is_err(), "{query}");
        }
    }
}
