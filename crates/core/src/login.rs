//! Login with a local account: the form's view model, and checking a submission.
//!
//! A wrong email and a wrong password get the same answer after the same work (a decoy hash is
//! checked for unknown emails), so the form does not reveal which accounts exist. Failed logins
//! are bounded per account and per source before any hashing (`crate::login_throttle`) and
//! audited.

use crate::context::Context;
use crate::csrf;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::login_throttle::{self, Verdict};
use crate::migration::HeldWrite;
use crate::model::audit::AuditKind;
use crate::oidc::provider::Provider;
use crate::password::{self, PasswordHash, Pbkdf2};
use crate::paths;
use crate::registration;
use crate::rng::Rng;
use crate::secret::SessionId;
use crate::site::Site;
use crate::store::{LoginAttempt, Person, SessionRecord, Store, StoreError};

/// How people log in at this deployment: local accounts, upstream OpenID providers, or both.
#[derive(Clone, Copy, Debug)]
pub struct Methods<'a> {
    /// Local accounts by email.
    pub accounts: &'a std::collections::BTreeMap<String, PasswordHash>,
    /// Upstream providers.
    pub providers: &'a [Provider],
}

impl<'a> From<&'a crate::config::Config> for Methods<'a> {
    fn from(config: &'a crate::config::Config) -> Self {
        Self {
            accounts: &config.accounts,
            providers: &config.oidc_providers,
        }
    }
}

/// A login session lasts this long, however it is used.
pub const SESSION_TTL_SECS: u64 = 12 * 3600;
/// A login session unused for this long is over.
pub const SESSION_IDLE_SECS: u64 = 2 * 3600;
/// A session's last use is written at most this often, to keep writes off the hot path.
pub const SESSION_TOUCH_SECS: u64 = 60;
/// Longest `return_to` accepted.
const MAX_RETURN_TO_BYTES: usize = 8 * 1024;

/// An upstream provider's button on the login page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderChoice {
    /// The provider's id, posted to [`paths::OIDC_START`].
    pub id: String,
    /// Its name, on the button.
    pub name: String,
}

/// What the login page shows: the local-account form when there are local accounts, and one
/// button per upstream provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginPrompt {
    /// The app the person is logging in to.
    pub app_name: String,
    /// Where the form posts: the login path under the app's prefix.
    pub action: String,
    /// Where to go after logging in: always an authorization request on this server.
    pub return_to: String,
    /// The email typed before, to fill the field again.
    pub email: String,
    /// Why the previous attempt failed.
    pub error: Option<&'static str>,
    /// Whether the local-account form is shown (local accounts are configured).
    pub local: bool,
    /// The upstream providers, one button each.
    pub providers: Vec<ProviderChoice>,
    /// Where the provider buttons post: [`paths::OIDC_START`] under the app's prefix.
    pub provider_action: String,
    /// The agent whose authorization request brought the person here, so the page can say that
    /// an agent is asking before the person types a password; `None` for a person who opened
    /// the app itself.
    pub agent: Option<AskingAgent>,
}

/// The agent an authorization request comes from, as the login page names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AskingAgent {
    /// Its name, as [`consent::client_identity`](crate::consent::client_identity) gives it.
    pub name: String,
    /// A metadata document client's verified host; `None` for a self-registered name, which
    /// the page marks as not verified.
    pub document_host: Option<String>,
}

impl LoginPrompt {
    /// The prompt for a person who navigated to `return_to` on the app without a session.
    pub fn for_app<'m>(methods: impl Into<Methods<'m>>, site: &Site<'_>, return_to: &str) -> Self {
        Self::returning_to(methods.into(), site, self::return_to(return_to))
    }

    /// The prompt for a checked authorization request with this query string: the person comes
    /// back to it after logging in, and the page names the agent asking.
    pub fn new(
        methods: Methods<'_>,
        site: &Site<'_>,
        request: &crate::authorize::AuthorizationRequest,
        authorization_query: &str,
    ) -> Self {
        let back = format!("{}?{authorization_query}", site.path(paths::AUTHORIZE));
        let (name, document_host) = crate::consent::client_identity(request);
        Self {
            agent: Some(AskingAgent {
                name,
                document_host,
            }),
            ..Self::returning_to(methods, site, back)
        }
    }

    fn returning_to(methods: Methods<'_>, site: &Site<'_>, return_to: String) -> Self {
        Self {
            app_name: site.app.name.clone(),
            action: site.path(paths::LOGIN),
            return_to,
            email: String::new(),
            error: None,
            local: !methods.accounts.is_empty() || methods.providers.is_empty(),
            providers: methods
                .providers
                .iter()
                .map(|p| ProviderChoice {
                    id: p.id.clone(),
                    name: p.name.clone(),
                })
                .collect(),
            provider_action: site.path(paths::OIDC_START),
            agent: None,
        }
    }

    /// The one provider to send the person to at once, without a page: when it is the only way
    /// to log in (one provider, no local accounts).
    pub fn sole_provider(&self) -> Option<&str> {
        match self.providers.as_slice() {
            [only] if !self.local => Some(&only.id),
            _ => None,
        }
    }
}

/// The result of a login submission.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: set the session cookie and go to `return_to`.
    LoggedIn {
        /// The new session id, for the cookie.
        session: SessionId,
        /// The cookie's `Max-Age`.
        max_age_secs: u64,
        /// Where to go now.
        return_to: String,
    },
    /// Show the form again.
    Retry(LoginPrompt),
    /// Too many failed logins (`crate::login_throttle`): show the form again with `429` and
    /// `Retry-After`; the password was not checked.
    Throttled {
        /// The form, saying why.
        prompt: LoginPrompt,
        /// Seconds until a login may be tried.
        retry_after_secs: u64,
    },
    /// Migration mode: no sessions can be opened now.
    Paused(crate::migration::Paused),
}

/// The answer to a failed login; the same for a wrong password and an unknown email.
const WRONG: &str = "Wrong email or password.";
/// The answer to a throttled login.
const THROTTLED: &str = "Too many failed logins. Please wait a few minutes, then try again.";

/// Checks a login submission and opens a session. Everything cheap comes first (the form, its
/// CSRF token, empty or oversized fields, the failed-login bounds), so that only a submission
/// that passes them all costs a PBKDF2 derivation.
pub(crate) async fn submit<S: Store, K: Signer, R: Rng>(
    server: &Context<'_, S, K, R>,
    methods: Methods<'_>,
    body: &[u8],
    csrf_cookie: Option<&str>,
    kdf: &impl Pbkdf2,
) -> Result<LoginOutcome, StoreError> {
    let form = Form::parse(body).unwrap_or_default();
    let field = |name| form.get(name).ok().flatten().unwrap_or_default();
    let email = field("email").trim().to_ascii_lowercase();
    let password = field("password");
    let prompt = |error| LoginPrompt {
        email: email.clone(),
        error: Some(error),
        ..LoginPrompt::for_app(methods, &server.site, field("return_to"))
    };
    let retry = |error| Ok(LoginOutcome::Retry(prompt(error)));
    if csrf::verify(csrf_cookie, form.get(csrf::FIELD).ok().flatten()) == Err(Reason::CsrfMismatch)
    {
        return retry("The form expired. Please try again.");
    }
    if email.is_empty() || password.is_empty() || password.len() > password::MAX_PASSWORD_BYTES {
        return retry(WRONG);
    }
    let account = login_throttle::account_key(&email);
    let source = registration::source_network(server.source.as_deref().unwrap_or_default());
    let attempt = LoginAttempt {
        account: &account,
        source: &source,
        at: server.now,
    };
    // Counted before the check, in one step with the bounds, so a burst cannot slip past them.
    let id = match server.store.start_login_attempt(&attempt).await? {
        Ok(id) => id,
        Err(history) => {
            let retry_after_secs = match login_throttle::judge(&history, server.now) {
                Verdict::Throttle { retry_after_secs } => retry_after_secs,
                Verdict::Allow => 1,
            };
            return Ok(LoginOutcome::Throttled {
                prompt: prompt(THROTTLED),
                retry_after_secs,
            });
        }
    };
    let decoy = PasswordHash::decoy();
    let stored = methods.accounts.get(&email);
    let matches = password::verify(stored.unwrap_or(&decoy), password, kdf).await;
    let subject = format!("local:{email}");
    if stored.is_none() || !matches {
        // The person's trail shows failures at their account; an email that is no account is
        // not kept (it may be a password typed into the wrong field).
        let known = stored.is_some();
        let detail = serde_json::json!({ "account_known": known });
        let subject = known.then_some(subject.as_str());
        server
            .audit(AuditKind::LoginFailed, subject, None, None, detail)
            .await?;
        return retry(WRONG);
    }
    server.store.login_attempt_succeeded(id).await?;
    let person = Person {
        subject,
        email,
        groups: Vec::new(),
    };
    let session = open_session(server, person, serde_json::Value::Null).await?;
    Ok(LoginOutcome::LoggedIn {
        session,
        max_age_secs: SESSION_TTL_SECS,
        return_to: return_to(field("return_to")),
    })
}

/// Opens a session for `person` at this app and records the login (`detail` in the audit
/// event says how they logged in).
pub(crate) async fn open_session<S: Store, K, R: Rng>(
    server: &Context<'_, S, K, R>,
    person: Person,
    detail: serde_json::Value,
) -> Result<SessionId, StoreError> {
    let session = server.session_cookie_key().issue(server.rng);
    let record = SessionRecord {
        session_hash: session.hash(),
        person,
        app: server.site.resource.clone(),
        last_seen_at: server.now,
        expires_at: server.now.plus(SESSION_TTL_SECS),
    };
    server.store.insert_session(&record, server.now).await?;
    let subject = record.person.subject.as_str();
    server
        .audit(AuditKind::LoggedIn, Some(subject), None, None, detail)
        .await?;
    Ok(session)
}

/// The person logged in with this session cookie, if the session is live, for this app, and
/// used within [`SESSION_IDLE_SECS`]. Use is recorded at most once every
/// [`SESSION_TOUCH_SECS`]; a session whose end migration mode holds is over.
pub async fn person<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    session: Option<&str>,
) -> Result<Option<Person>, StoreError> {
    // A value gatehouse did not issue is refused before storage is asked (session_cookie).
    let Some(session) = session.and_then(|raw| cx.session_cookie_key().open(raw)) else {
        return Ok(None);
    };
    let hash = session.hash();
    let Some(record) = cx.store.session(&hash, cx.now).await? else {
        return Ok(None);
    };
    let idle = cx.now.since(record.last_seen_at);
    if record.app != cx.site.resource || idle >= SESSION_IDLE_SECS {
        return Ok(None);
    }
    let touch = idle >= SESSION_TOUCH_SECS;
    let in_use = cx
        .store
        .session_in_use(&hash, &record.person.subject, touch, cx.now)
        .await?;
    Ok(in_use.then_some(record.person))
}

/// `POST /.gatehouse/logout`: ends the session. CSRF-protected, so a cross-site page cannot log
/// a person out.
pub(crate) async fn logout<S: Store, K, R>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    session: Option<&str>,
    csrf_cookie: Option<&str>,
) -> Result<(), Failure> {
    let form = Form::parse(body)?;
    csrf::verify(csrf_cookie, form.get(csrf::FIELD)?)?;
    if let Some(session) = session.and_then(|raw| cx.session_cookie_key().open(raw)) {
        let session_hash = session.hash();
        let end = HeldWrite::EndSession {
            session_hash: session_hash.as_hex().to_owned(),
            at: cx.now,
        };
        cx.store.write_or_hold(end, cx.now).await?;
    }
    Ok(())
}

/// Where a login may send the person: a path on this same host, so the login form cannot be
/// used as an open redirect. `//host` and `/\host` are refused (browsers read both as another
/// host), as are control characters, whitespace and backslashes. Anything else goes to `/`.
pub fn return_to(requested: &str) -> String {
    let safe = requested.starts_with('/')
        && !requested.starts_with("//")
        && requested.len() <= MAX_RETURN_TO_BYTES
        && !requested
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    if safe {
        requested.to_owned()
    } else {
        "/".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_on_this_host() {
        for ok in [
            "/",
            "/oauth/authorize?client_id=x&state=y",
            "/docs/page?q=1#top",
            "/a/b",
        ] {
            assert_eq!(return_to(ok), ok);
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/oauth/authorize?x",
            "/\\evil.example",
            "/ok/..\\evil",
            "evil.example",
            "javascript:alert(1)",
            "/oauth/authorize?a=b\r\nLocation: https://evil.example",
            "/oauth/authorize?a=b c",
        ] {
            assert_eq!(return_to(bad), "/", "{bad:?}");
        }
        assert_eq!(
            return_to(&format!("/{}", "a".repeat(MAX_RETURN_TO_BYTES))),
            "/"
        );
    }
}
