//! The error page: shown instead of redirecting when the client or its redirect URI could not be
//! established (RFC 6749 §4.1.2.1), so a forged request cannot bounce the person elsewhere.

use gatehouse_core::error::OAuthError;
use html_escape::encode_text as text;

use super::document;

/// A page explaining `error` to a person.
pub fn error(error: &OAuthError) -> String {
    let body = format!(
        "<h1>This request cannot be completed</h1><p class=\"error\">{}</p>\
         <p class=\"small\">Error code: <code>{}</code>. The application that sent you here may be \
         misconfigured; you can close this page.</p>",
        text(error.description),
        error.code.as_str()
    );
    document("Error", &body)
}

/// The page for a person whose browser asked for a path in gatehouse's own namespaces that it
/// does not serve (a mistyped or outdated link), instead of the JSON an API client gets.
pub fn not_found(app_href: &str) -> String {
    let body = format!(
        "<h1>No such page</h1><p>gatehouse has no page at this address. The link may be \
         mistyped or out of date.</p><p><a href=\"{}\">Go to the app</a></p>\
         <p class=\"small\">Error code: <code>not_found</code>.</p>",
        html_escape::encode_double_quoted_attribute(app_href)
    );
    document("No such page", &body)
}

/// The page for a person who arrives while gatehouse is paused (migration mode): nothing is
/// wrong with the app or the agent; they should come back later.
pub fn paused(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    let body = format!(
        "<h1>Back shortly</h1><p>Sign-in is paused for maintenance. Nothing is wrong with your \
         account or with the app; please try again in about {minutes} minute{}.</p>\
         <p class=\"small\">Error code: <code>temporarily_unavailable</code>.</p>",
        if minutes == 1 { "" } else { "s" }
    );
    document("Paused for maintenance", &body)
}

/// A login through an identity provider that did not complete: why, and a way to start again.
pub fn login_failed(error: &OAuthError, login_path: &str) -> String {
    let body = format!(
        "<h1>Login did not complete</h1><p class=\"error\" role=\"alert\">{}</p>\
         <p><a href=\"{}\">Start again</a></p>\
         <p class=\"small\">Error code: <code>{}</code>.</p>",
        text(error.description),
        html_escape::encode_double_quoted_attribute(login_path),
        error.code.as_str()
    );
    document("Login did not complete", &body)
}
