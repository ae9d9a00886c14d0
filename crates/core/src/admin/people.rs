//! The admin console's people page: who has browser sessions and agents, when each was last
//! seen, and cutting a person off everywhere: every session ended and every grant of theirs,
//! at every app, revoked through the one revocation path, after a confirmation that says how
//! many.

use serde::Serialize;

use super::{Admins, console_admin};
use crate::admin::AdminCredentials;
use crate::context::Context;
use crate::failure::Failure;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::migration::HeldWrite;
use crate::paths;
use crate::rng::Rng;
use crate::store::{PersonUse, RevocationReason, Store};

/// Most people the page lists.
pub const MAX_CONSOLE_PEOPLE: u32 = 500;

/// Everything the people page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsolePeople {
    /// Who is looking.
    pub admin: String,
    /// The people, most recently seen first.
    pub people: Vec<PersonUse>,
    /// Whether the page's bound cut the list short.
    pub truncated: bool,
    /// The person to confirm cutting off (`confirm=<subject>`), as listed.
    pub confirmation: Option<PersonUse>,
    /// Grants the cut-off that led here revoked (`revoked=`).
    pub revoked: Option<u64>,
    /// This page (`GET`).
    pub list_action: String,
    /// The console's pages.
    pub links: crate::admin::console::ConsoleLinks,
    /// Where the confirmation's form posts.
    pub revoke_action: String,
}

/// `GET …/.gatehouse/admin/console/people[?confirm=<subject>]`.
pub async fn console_people<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<ConsolePeople, Failure> {
    let admin = console_admin(cx, admins, credentials, None).await?;
    let form = Form::parse(query.as_bytes())?;
    let people = cx.store.people_in_use(MAX_CONSOLE_PEOPLE, cx.now).await?;
    let confirmation = match form.get("confirm")? {
        Some(subject) => Some(
            people
                .iter()
                .find(|p| p.subject == subject)
                .cloned()
                .ok_or(crate::error::Reason::ConsoleBadFilter)?,
        ),
        None => None,
    };
    Ok(ConsolePeople {
        admin,
        truncated: people.len() >= MAX_CONSOLE_PEOPLE as usize,
        people,
        confirmation,
        revoked: form.get("revoked")?.and_then(|n| n.parse().ok()),
        list_action: cx.site.path(paths::ADMIN_CONSOLE_PEOPLE),
        links: super::console::console_links(&cx.site),
        revoke_action: cx.site.path(paths::ADMIN_CONSOLE_REVOKE_PERSON),
    })
}

/// `POST …/.gatehouse/admin/console/people/revoke` with `subject` and the CSRF token: one
/// `admin_action` event, then every session of the person ended and every grant of theirs
/// not settled, at every app, revoked (the admin API's revocation by person, at every app).
/// Returns the page to go back to.
pub async fn console_revoke_person<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    body: &[u8],
) -> Result<String, Failure> {
    let form = Form::parse(body)?;
    let by = console_admin(cx, admins, credentials, Some(&form)).await?;
    let subject = form.require("subject")?;
    super::admin_action(cx, &by, "revoke_person", &form).await?;
    cx.store
        .write_or_hold(
            HeldWrite::EndSessionsOf {
                subject: subject.to_owned(),
                at: cx.now,
            },
            cx.now,
        )
        .await?;
    let grants = super::unsettled_grants(cx, None, Some(subject), None).await?;
    let revoked = super::revoke_all(cx, &grants, RevocationReason::AdminRequest).await?;
    Ok(format!(
        "{}?revoked={}",
        cx.site.path(paths::ADMIN_CONSOLE_PEOPLE),
        revoked.grants
    ))
}
