//! gatehouse's HTML pages: login, consent, device verification, connected agents, the admin
//! console, the demo app and errors. Server-rendered, no scripts, no external assets; every form
//! carries the CSRF token.
//!
//! Markup lives in `templates/*.html`, compiled into the Worker by askama. Every `{{ value }}` in
//! a template is HTML-escaped by [`Html`] unless the template says otherwise, and none does: a
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

pub use agents::agents;
pub use consent::consent;
pub use console::{console_audit, console_clients, console_grants, console_people, console_state};
pub use demo::{demo, forbidden};
pub use device::{device_consent, device_done, device_entry, device_refused};
pub use error::{error, login_failed, not_found, paused};
pub use login::login;

use std::fmt;

use askama::Template;

/// `base64(sha256(the <style> of templates/page.html))`, checked by a test: the CSP admits exactly
/// that stylesheet.
const STYLE_HASH: &str = "sha256-XlzL0aK7e7YYk2kKalD8fO1v9+vfsyo+o6hr4FuZe10=";

/// The `Content-Security-Policy` of every page: nothing loads, nothing runs, nothing frames us.
/// No `form-action`: browsers apply it to the redirects that follow a submission, and the consent
/// form's answer redirects to the client's own URI.
pub fn content_security_policy() -> String {
    format!("default-src 'none'; style-src '{STYLE_HASH}'; base-uri 'none'; frame-ancestors 'none'")
}

/// The escaper of every `.html` template (`askama.toml` names it): `&`, `<`, `>`, `"` and `'`,
/// the characters that can end a text node or a quoted attribute value, become character
/// references; everything else passes unchanged.
/// Named references (not askama's `&#60;`) because the pages' readers, people's browsers and the
/// test suites' form helpers alike, have always been given these.
#[derive(Clone, Copy, Debug, Default)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: fmt::Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut rest = string;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(at);
            dest.write_str(plain)?;
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                dest.write_str(reference(c))?;
            }
            rest = chars.as_str();
        }
        dest.write_str(rest)
    }

    fn write_escaped_char<W: fmt::Write>(&self, mut dest: W, c: char) -> fmt::Result {
        match c {
            '&' | '<' | '>' | '"' | '\'' => dest.write_str(reference(c)),
            c => dest.write_char(c),
        }
    }
}

/// The character reference for one of the five characters [`Html`] escapes.
fn reference(c: char) -> &'static str {
    match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#x27;",
        _ => "",
    }
}

/// Renders a page. A template's only failure is a value whose `Display` fails, and every value
/// here is a string or a number; should one ever fail, the person gets a plain error page, not a
/// half-written one.
fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|_| {
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error · gatehouse\
         </title></head><body><h1>This page could not be shown</h1></body></html>"
            .to_owned()
    })
}

/// `YYYY-MM-DD HH:MM UTC` for Unix seconds.
fn utc(secs: u64) -> String {
    let c = gatehouse_core::time::UnixTime(secs).civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
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

    #[test]
    fn the_escaper_turns_the_five_markup_characters_into_references() {
        use askama::filters::Escaper as _;
        let mut out = String::new();
        Html.write_escaped_str(&mut out, "a&b<c>d\"e'f é €")
            .unwrap();
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&#x27;f é €");
        for (c, expected) in [('<', "&lt;"), ('\'', "&#x27;"), ('x', "x"), ('é', "é")] {
            let mut out = String::new();
            Html.write_escaped_char(&mut out, c).unwrap();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(
            utc(1_795_996_800 + 3600 * 13 + 60 * 7),
            "2026-11-30 13:07 UTC"
        );
    }
}
