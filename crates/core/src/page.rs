//! The pages gatehouse shows a person, as view models: what a [`Reply`](crate::http::reply::Reply)
//! carries as its page view. The core decides which page, with which status and headers
//! ([`crate::answer`]); the adapter renders it with templates that escape by default, and
//! never decides which one.

use crate::admin::audit::ConsoleAudit;
use crate::admin::clients::ConsoleClients;
use crate::admin::console::ConsoleGrants;
use crate::admin::people::ConsolePeople;
use crate::admin::state::ConsoleState;
use crate::agents::AgentsView;
use crate::consent::ConsentPrompt;
use crate::device::verification::{DeviceConsentPrompt, UserCodePrompt};
use crate::error::OAuthError;
use crate::health::Report;
use crate::login::LoginPrompt;

/// One page and what it shows.
#[derive(Debug)]
pub enum Page {
    /// The login form.
    Login(LoginPrompt),
    /// The consent screen of an authorization request.
    Consent(ConsentPrompt),
    /// The person's connected agents.
    Agents(AgentsView),
    /// A refusal, for a person (never a redirect).
    Error(OAuthError),
    /// An upstream login that did not complete, with the way back to the login page.
    LoginFailed {
        /// Why.
        error: OAuthError,
        /// The login page's path.
        login_path: String,
    },
    /// No page here, and the way back to the app.
    NotFound {
        /// The app's root.
        app_href: String,
    },
    /// Migration mode: the step waits.
    Paused {
        /// Seconds to wait, as the `Retry-After` says.
        retry_after_secs: u64,
    },
    /// The person is logged in but the app's policy does not admit them.
    Forbidden {
        /// The app's name.
        app_name: String,
        /// Who is logged in.
        email: String,
        /// The logout form's action.
        logout_action: String,
    },
    /// The form to type a device's user code into (RFC 8628 §3.3).
    DeviceEntry(UserCodePrompt),
    /// The consent screen of a device's request.
    DeviceConsent(DeviceConsentPrompt),
    /// A device request decided.
    DeviceDone {
        /// Whether the person approved.
        approved: bool,
        /// The app's name.
        app_name: String,
    },
    /// A device request refused.
    DeviceRefused(OAuthError),
    /// The admin console's grants.
    ConsoleGrants(ConsoleGrants),
    /// The admin console's agents.
    ConsoleClients(ConsoleClients),
    /// The admin console's people.
    ConsolePeople(ConsolePeople),
    /// The admin console's state, with the deep health check's results.
    ConsoleState(ConsoleState, Report),
    /// The admin console's audit search.
    ConsoleAudit(Box<ConsoleAudit>),
}
