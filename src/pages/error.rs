//! The error pages: a request that cannot be completed (shown instead of redirecting when the
//! client or its redirect URI could not be established, RFC 6749 §4.1.2.1, so a forged request
//! cannot bounce the person elsewhere), a page gatehouse does not have, migration mode, and a
//! login through an identity provider that did not complete.

use askama::Template;
use gatehouse_core::error::OAuthError;

use super::template::render;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    description: &'a str,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    app_href: &'a str,
}

#[derive(Template)]
#[template(path = "paused.html")]
struct PausedPage {
    minutes: u64,
}

#[derive(Template)]
#[template(path = "login_failed.html")]
struct LoginFailedPage<'a> {
    description: &'a str,
    code: &'a str,
    login_path: &'a str,
}

/// A page explaining `error` to a person.
pub fn error(error: &OAuthError) -> String {
    render(&ErrorPage {
        description: error.description,
        code: error.code.as_str(),
    })
}

/// The page for a person whose browser asked for a path in gatehouse's own namespaces that it
/// does not serve (a mistyped or outdated link), instead of the JSON an API client gets.
pub fn not_found(app_href: &str) -> String {
    render(&NotFoundPage { app_href })
}

/// The page for a person who arrives while gatehouse is paused (migration mode): nothing is
/// wrong with the app or the agent; they should come back later.
pub fn paused(retry_after_secs: u64) -> String {
    render(&PausedPage {
        minutes: retry_after_secs.div_ceil(60),
    })
}

/// A login through an identity provider that did not complete: why, and a way to start again.
pub fn login_failed(error: &OAuthError, login_path: &str) -> String {
    render(&LoginFailedPage {
        description: error.description,
        code: error.code.as_str(),
        login_path,
    })
}
