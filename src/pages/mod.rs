//! gatehouse's HTML pages: login, consent, device verification, connected agents, the admin
//! console, the demo app and errors. Server-rendered, no scripts, no external assets; every form
//! carries the CSRF token.
//!
//! Markup lives in `templates/*.html`, compiled into the Worker by askama. Every `{{ value }}` in
//! a template is HTML-escaped by [`template::Html`] unless the template says otherwise, and none does: a
//! value a client, a person or an operator chose cannot become markup, whichever page shows it.
//! Each function here turns a core view into a template's fields (dates, links) and renders it.
//!
//! Rendering is pure (values in, string out), so it is tested natively, including with hostile
//! values on every page (`hostile.rs`).

mod agents;
mod consent;
mod console;
mod demo;
mod device;
mod error;
#[cfg(test)]
mod hostile;
mod login;
mod template;

pub use agents::agents;
pub use consent::consent;
pub use console::{console_audit, console_clients, console_grants, console_people, console_state};
pub use demo::{demo, forbidden};
pub use device::{device_consent, device_done, device_entry, device_refused};
pub use error::{error, login_failed, not_found, paused};
pub use login::login;

/// `base64(sha256(the <style> of templates/page.html))`, checked by a test: the CSP admits exactly
/// that stylesheet.
const STYLE_HASH: &str = "sha256-XlzL0aK7e7YYk2kKalD8fO1v9+vfsyo+o6hr4FuZe10=";

/// The `Content-Security-Policy` of every page: nothing loads, nothing runs, nothing frames us.
/// No `form-action`: browsers apply it to the redirects that follow a submission, and the consent
/// form's answer redirects to the client's own URI.
pub fn content_security_policy() -> String {
    format!("default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use sha2::Digest as _;

    #[test]
    fn the_csp_hash_matches_the_stylesheet() {
        // The stylesheet as served, read from a rendered page.
        let page = not_found("/");
        let style = page
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap();
        let digest = sha2::Sha256::digest(style.as_bytes());
        let expected = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        assert_eq!(STYLE_HASH, expected);
    }

    #[test]
    fn the_csp_forbids_scripts_frames_and_foreign_styles() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe"));
    }
}
