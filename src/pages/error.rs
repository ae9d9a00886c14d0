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
