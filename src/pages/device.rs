//! The device verification pages (RFC 8628 §3.3): typing the user code, the consent screen with
//! the remote-phishing warning (§5.4), and the outcome.

use askama::Template;
use gatehouse_core::csrf;
use gatehouse_core::device::verification::{
    DECISION_FIELD, DeviceConsentPrompt, USER_CODE_FIELD, UserCodePrompt,
};
use gatehouse_core::error::OAuthError;

use super::template::render;

#[derive(Template)]
#[template(path = "device_entry.html")]
struct EntryPage<'a> {
    prompt: &'a UserCodePrompt,
    csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "device_consent.html")]
struct ConsentPage<'a> {
    prompt: &'a DeviceConsentPrompt,
    /// The permissions asked for, as `scopes.html` lists them.
    scopes: &'a [(String, String)],
    csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DonePage<'a> {
    approved: bool,
    app_name: &'a str,
}

#[derive(Template)]
#[template(path = "device_refused.html")]
struct RefusedPage<'a> {
    description: &'a str,
    code: &'a str,
}

/// The form to type the code into, carrying `csrf_token`.
pub fn device_entry(prompt: &UserCodePrompt, csrf_token: &str) -> String {
    render(&EntryPage { prompt, csrf_token })
}

/// The consent screen for the request behind a typed code, carrying `csrf_token`.
pub fn device_consent(prompt: &DeviceConsentPrompt, csrf_token: &str) -> String {
    render(&ConsentPage {
        prompt,
        scopes: &prompt.scopes,
        csrf_token,
    })
}

/// The outcome, once decided.
pub fn device_done(approved: bool, app_name: &str) -> String {
    render(&DonePage { approved, app_name })
}

/// A refusal: the app's policy, too many wrong codes, or an expired form.
pub fn device_refused(error: &OAuthError) -> String {
    render(&RefusedPage {
        description: error.description,
        code: error.code.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent() -> DeviceConsentPrompt {
        DeviceConsentPrompt {
            client_name: "<script>alert(1)</script>".into(),
            client_id: "c_1".into(),
            app_name: "Wiki & <b>Docs</b>".into(),
            app_url: "https://wiki.example".into(),
            scopes: vec![("read".into(), "Read <pages>".into())],
            person_email: "alice@example.com".into(),
            user_code: "WDJB-MJHT".into(),
            action: "/.gatehouse/device".into(),
        }
    }

    #[test]
    fn the_consent_screen_escapes_names_and_warns_about_codes_from_others() {
        let page = device_consent(&consent(), "t0ken");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("Wiki &amp; &lt;b&gt;Docs&lt;/b&gt;"));
        assert!(page.contains("Only continue if you started this yourself"));
        assert!(
            page.contains("name not verified"),
            "issue 17: self-chosen names are marked"
        );
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("name=\"user_code\" value=\"WDJB-MJHT\""));
        assert!(page.contains("value=\"approve\"") && page.contains("value=\"deny\""));
    }

    #[test]
    fn the_entry_form_fills_in_the_code_escaped_and_carries_csrf() {
        let prompt = UserCodePrompt {
            app_name: "Wiki".into(),
            person_email: "alice@example.com".into(),
            user_code: "\"><x".into(),
            error: Some("That code is wrong"),
            action: "/docs/.gatehouse/device".into(),
        };
        let page = device_entry(&prompt, "t0ken");
        assert!(!page.contains("\"><x"), "{page}");
        assert!(page.contains("action=\"/docs/.gatehouse/device\""));
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("That code is wrong"));
    }
}
