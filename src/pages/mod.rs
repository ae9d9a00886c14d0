//! gatehouse's HTML pages: login, consent, device verification, the admin console and errors. Server-rendered, no scripts, no external
//! assets; every interpolated value is HTML-escaped; every form carries the CSRF token.
//!
//! Rendering is pure (strings in, string out), so it is tested natively.

mod agents;
mod consent;
mod console;
mod demo;
mod device;
mod error;
mod login;

pub use agents::agents;
pub use consent::consent;
pub use console::{console_audit, console_clients, console_grants, console_people, console_state};
pub use demo::{demo, forbidden};
pub use device::{device_consent, device_done, device_entry, device_refused};
pub use error::{error, login_failed, not_found, paused};
pub use login::login;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

/// The one stylesheet, inline; the CSP admits exactly this text by its hash.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}\
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=email],input[type=password],input[type=text]{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}\
button{padding:.55rem 1.2rem;margin:1rem .5rem 0 0;font-size:1rem}.warn{background:#fff4d6;border:1px solid #e0b84c;padding:.6rem}\
.error{background:#fde8e8;border:1px solid #d66;padding:.6rem}.small{color:#555;font-size:.85rem}li{margin:.3rem 0}code,.name{overflow-wrap:anywhere}.scopes code{white-space:nowrap}";

/// `base64(sha256(STYLE))`, checked by a test.
const STYLE_HASH: &str = "sha256-T7hYLfNFa+QS/W2YlMA9JyIxHsMANm4Ajxd0OrgfeQ0=";

/// The `Content-Security-Policy` of every page: nothing loads, nothing runs, nothing frames us.
/// No `form-action`: browsers apply it to the redirects that follow a submission, and the consent
/// form's answer redirects to the client's own URI.
pub fn content_security_policy() -> String {
    format!("default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'")
}

/// Wraps a page body in the document shell.
fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} · gatehouse</title><style>{STYLE}</style></head><body>{body}</body></html>",
        text(title)
    )
}

/// A hidden form field.
fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        attr(name),
        attr(value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use sha2::Digest as _;

    #[test]
    fn the_csp_hash_matches_the_stylesheet() {
        let digest = sha2::Sha256::digest(STYLE.as_bytes());
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
