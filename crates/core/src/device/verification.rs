//! The verification page (RFC 8628 §3.3): a logged-in person types the user code shown on the
//! device, sees which agent asks for what, and approves or denies.
//!
//! - A `GET`, including a cross-site `verification_uri_complete` link, only fills the code into
//!   the form: looking a code up, and every decision, takes a `POST` carrying the CSRF token.
//! - RFC 8628 §5.4 (remote phishing): the consent screen names the agent, the app and the
//!   scopes, and warns to approve only a code the person started themselves.
//! - RFC 8628 §5.1 (brute force): a person may type [`MAX_WRONG_USER_CODES`] wrong codes per
//!   [`WRONG_USER_CODE_WINDOW_SECS`]; after that every code is refused until the window passes.
//! - The app's policy applies: a person it refuses cannot approve.

use crate::context::Context;
use crate::csrf;
use crate::error::Reason;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::paths;
use crate::rng::Rng;
use crate::store::{DeviceCodeRecord, Freshness, Person, Store, StoreError};
use crate::time::UnixTime;

use super::user_code::UserCode;
use super::{MAX_WRONG_USER_CODES, WRONG_USER_CODE_WINDOW_SECS};

/// Field (and query parameter) carrying the user code.
pub const USER_CODE_FIELD: &str = "user_code";
/// Field carrying the decision: `approve` or `deny`; absent when the person only typed the code.
pub const DECISION_FIELD: &str = "decision";

/// What the verification page shows next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePage {
    /// Nobody is logged in: redirect here (the login page, returning to this page).
    Login(String),
    /// The form to type the code into.
    Enter(UserCodePrompt),
    /// The consent screen for the request the code belongs to.
    Confirm(DeviceConsentPrompt),
    /// The person decided; the device will learn it on its next poll.
    Done {
        /// Whether they approved.
        approved: bool,
        /// The app's name.
        app_name: String,
    },
    /// Refused: the app's policy, too many wrong codes, or a form without its CSRF token.
    Refused(Reason),
    /// Migration mode: approvals create grants, which wait until it ends.
    Paused(crate::migration::Paused),
}

impl DevicePage {
    /// The HTTP status of the page.
    pub fn status(&self) -> u16 {
        match self {
            Self::Login(_) => 302,
            Self::Enter(prompt) if prompt.error.is_some() => 400,
            Self::Enter(_) | Self::Confirm(_) | Self::Done { .. } => 200,
            Self::Refused(Reason::PolicyDenied) => 403,
            Self::Refused(Reason::UserCodeGuessLimit) => 429,
            Self::Refused(_) => 400,
            Self::Paused(_) => 503,
        }
    }
}

/// The form where the person types the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCodePrompt {
    /// The app's name.
    pub app_name: String,
    /// Who is logged in.
    pub person_email: String,
    /// The code to fill in: from the link the person followed, when well formed.
    pub user_code: String,
    /// Why the previous code was refused.
    pub error: Option<&'static str>,
    /// Where the form posts.
    pub action: String,
}

/// The consent screen (RFC 8628 §3.3, §5.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConsentPrompt {
    /// The agent's registered name, or its client id: chosen by the agent, never verified.
    pub client_name: String,
    /// The client id.
    pub client_id: String,
    /// The app's name.
    pub app_name: String,
    /// The app's URL.
    pub app_url: String,
    /// Each scope asked for, with the app's description of it.
    pub scopes: Vec<(String, String)>,
    /// Who is logged in.
    pub person_email: String,
    /// The code, as typed back into the form that decides.
    pub user_code: String,
    /// Where the form posts.
    pub action: String,
}

/// `GET /.gatehouse/device[?user_code=…]`: the form, with the code filled in. Never looks
/// the code up, so a link cannot approve anything nor spend the person's guesses.
pub async fn device_page<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    query: &str,
    session: Option<&str>,
) -> Result<DevicePage, StoreError> {
    let Some(person) = crate::login::person(cx, session).await? else {
        return Ok(login_first(cx, query));
    };
    if !crate::policy::admits(&cx.site, &person) {
        return Ok(DevicePage::Refused(Reason::PolicyDenied));
    }
    let linked = Form::parse(query.as_bytes())
        .ok()
        .and_then(|q| q.get(USER_CODE_FIELD).ok().flatten().map(str::to_owned))
        .and_then(|c| UserCode::parse(&c).ok())
        .map(|c| c.display())
        .unwrap_or_default();
    Ok(DevicePage::Enter(user_code_prompt(
        cx, &person, linked, None,
    )))
}

/// `POST /.gatehouse/device`: a typed code (shows the consent screen) or a decision on it.
pub async fn device_submit<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    session: Option<&str>,
    csrf_cookie: Option<&str>,
) -> Result<DevicePage, StoreError> {
    let Ok(form) = Form::parse(body) else {
        return Ok(DevicePage::Refused(Reason::MalformedBody));
    };
    if let Err(reason) = form
        .get(csrf::FIELD)
        .and_then(|field| csrf::verify(csrf_cookie, field))
    {
        return Ok(DevicePage::Refused(reason));
    }
    let Some(person) = crate::login::person(cx, session).await? else {
        return Ok(login_first(cx, ""));
    };
    if !crate::policy::admits(&cx.site, &person) {
        return Ok(DevicePage::Refused(Reason::PolicyDenied));
    }
    let since = UnixTime(cx.now.0.saturating_sub(WRONG_USER_CODE_WINDOW_SECS));
    let wrong = cx
        .store
        .wrong_user_codes_since(&person.subject, since)
        .await?;
    if wrong >= MAX_WRONG_USER_CODES {
        return Ok(DevicePage::Refused(Reason::UserCodeGuessLimit));
    }
    let decision = match form.get(DECISION_FIELD) {
        Ok(None) => None,
        Ok(Some("approve")) => Some(true),
        Ok(Some("deny")) => Some(false),
        Ok(Some(_)) | Err(_) => return Ok(DevicePage::Refused(Reason::MalformedBody)),
    };
    let typed = form.get(USER_CODE_FIELD).ok().flatten().unwrap_or_default();
    let Some((code, record)) = pending(cx, typed).await? else {
        cx.store
            .record_wrong_user_code(&person.subject, cx.now)
            .await?;
        if wrong + 1 >= MAX_WRONG_USER_CODES {
            return Ok(DevicePage::Refused(Reason::UserCodeGuessLimit));
        }
        let error = Some("That code is wrong or has expired. Check the code on your device.");
        return Ok(DevicePage::Enter(user_code_prompt(
            cx,
            &person,
            String::new(),
            error,
        )));
    };
    match decision {
        None => device_consent(cx, &person, &code, &record).await,
        Some(approved) => decide(cx, &person, &record, approved).await,
    }
}

/// The pending request for a typed code, at this app.
async fn pending<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    typed: &str,
) -> Result<Option<(UserCode, DeviceCodeRecord)>, StoreError> {
    let Ok(code) = UserCode::parse(typed) else {
        return Ok(None);
    };
    let mut record = cx
        .store
        .pending_device_code(&code.hash(&super::user_code_key(cx)), cx.now)
        .await?;
    // A code shown before the server secret was rotated is digested under the previous one.
    if let (None, Some(previous)) = (&record, super::previous_user_code_key(cx)) {
        record = cx
            .store
            .pending_device_code(&code.hash(&previous), cx.now)
            .await?;
    }
    Ok(record
        .filter(|r| r.resource == cx.site.resource)
        .map(|r| (code, r)))
}

async fn device_consent<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    person: &Person,
    code: &UserCode,
    record: &DeviceCodeRecord,
) -> Result<DevicePage, StoreError> {
    // Only the name is read, for the page: a replica's record will do.
    let client = Freshness::MayLag
        .read(|from| cx.store.client(&record.client_id, cx.now, from))
        .await?;
    // Device clients register themselves (a metadata document client has no device grant),
    // so the page marks the name as not verified.
    let client_name = crate::registration::neutralise_hidden_chars(
        &client
            .and_then(|c| c.metadata.client_name)
            .unwrap_or_else(|| record.client_id.as_str().to_owned()),
    );
    Ok(DevicePage::Confirm(DeviceConsentPrompt {
        client_name,
        client_id: record.client_id.as_str().to_owned(),
        app_name: cx.site.app.name.clone(),
        app_url: cx.site.resource.clone(),
        scopes: crate::consent::describe_scopes(&cx.site, &record.scopes),
        person_email: person.email.clone(),
        user_code: code.display(),
        action: cx.site.path(paths::DEVICE),
    }))
}

/// Records the decision. Approval creates the grant and remembers consent first, then
/// marks the code approved in one atomic step: of two racing decisions, one wins.
async fn decide<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    person: &Person,
    record: &DeviceCodeRecord,
    approved: bool,
) -> Result<DevicePage, StoreError> {
    let done = DevicePage::Done {
        approved,
        app_name: cx.site.app.name.clone(),
    };
    if !approved {
        cx.store
            .decide_device_code(&record.device_code_hash, None, cx.now)
            .await?;
        return Ok(done);
    }
    let grant = crate::consent::create_grant(
        cx,
        person,
        &record.client_id,
        &record.resource,
        &record.scopes,
        "",
    )
    .await?;
    crate::consent::remember_consent(cx, person, &record.client_id, &record.scopes, None).await?;
    let decided = cx
        .store
        .decide_device_code(&record.device_code_hash, Some(&grant.grant_id), cx.now)
        .await?;
    if decided {
        Ok(done)
    } else {
        // Decided (or expired) meanwhile: the grant just made is never handed out.
        Ok(DevicePage::Refused(Reason::UserCodeUnknown))
    }
}

fn login_first<S: Store, K: Signer, R: Rng>(cx: &Context<'_, S, K, R>, query: &str) -> DevicePage {
    let here = match query {
        "" => cx.site.path(paths::DEVICE),
        q => format!("{}?{q}", cx.site.path(paths::DEVICE)),
    };
    let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    DevicePage::Login(format!("{}?return_to={back}", cx.site.path(paths::LOGIN)))
}

fn user_code_prompt<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    person: &Person,
    user_code: String,
    error: Option<&'static str>,
) -> UserCodePrompt {
    UserCodePrompt {
        app_name: cx.site.app.name.clone(),
        person_email: person.email.clone(),
        user_code,
        error,
        action: cx.site.path(paths::DEVICE),
    }
}
