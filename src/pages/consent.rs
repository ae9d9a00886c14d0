//! The consent page: the person decides whether an agent may act for them.

use askama::Template;
use gatehouse_core::consent::{ConsentPrompt, DECISION_FIELD, REQUEST_FIELD};
use gatehouse_core::csrf;

use super::template::render;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    prompt: &'a ConsentPrompt,
    /// The permissions asked for, as `scopes.html` lists them.
    scopes: &'a [(String, String)],
    csrf_token: &'a str,
}

/// The consent form for `prompt`, carrying `csrf_token`.
pub fn consent(prompt: &ConsentPrompt, csrf_token: &str) -> String {
    render(&ConsentPage {
        prompt,
        scopes: &prompt.scopes,
        csrf_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(loopback: bool) -> ConsentPrompt {
        ConsentPrompt {
            client_name: "<script>alert(1)</script>".into(),
            client_id: "c_1".into(),
            client_document_host: None,
            redirect_destination: if loopback {
                "127.0.0.1".into()
            } else {
                "agent.example".into()
            },
            redirect_is_loopback: loopback,
            redirect_is_app: false,
            redirect_leaves_document_host: false,
            app_name: "Wiki & <b>Docs</b>".into(),
            app_url: "https://wiki.example".into(),
            scopes: vec![
                ("read".into(), "Read <pages>".into()),
                ("write".into(), String::new()),
            ],
            person_email: "alice@example.com".into(),
            request: "client_id=c_1&state=\"><x".into(),
            action: "/.gatehouse/consent".into(),
        }
    }

    #[test]
    fn a_hostile_client_name_is_shown_escaped() {
        let page = consent(&prompt(false), "t");
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("Wiki &amp; &lt;b&gt;Docs&lt;/b&gt;"));
        assert!(page.contains("Read &lt;pages&gt;"));
        assert!(!page.contains("\"><x"));
    }

    #[test]
    fn a_metadata_document_client_shows_its_host_escaped() {
        let mut prompt = prompt(false);
        assert!(!consent(&prompt, "t").contains("client identified by"));
        prompt.client_document_host = Some("agent.example.com<b>".into());
        let page = consent(&prompt, "t");
        assert!(page.contains(
            "client identified by <strong>https://agent.example.com&lt;b&gt;/…</strong>"
        ));
    }

    #[test]
    fn a_self_registered_name_is_marked_not_verified_and_a_document_client_is_not() {
        // Issue 17: "Claude Code (official)" registered by anyone looked like the real one.
        let mut prompt = prompt(false);
        assert!(consent(&prompt, "t").contains("name not verified"));
        prompt.client_document_host = Some("agent.example.com".into());
        let page = consent(&prompt, "t");
        assert!(!page.contains("name not verified"), "{page}");
        assert!(page.contains("client identified by"));
    }

    #[test]
    fn a_private_use_redirect_says_an_app_on_this_device_receives_the_code() {
        // RFC 8252 §7.1: whichever app opens `cursor:` links receives the code.
        let mut prompt = prompt(false);
        prompt.redirect_is_app = true;
        prompt.redirect_destination = "cursor".into();
        let page = consent(&prompt, "t");
        assert!(
            page.contains("An app on this device will receive the code"),
            "{page}"
        );
        assert!(page.contains("<strong>cursor:</strong> links"));
        assert!(!consent(&self::prompt(false), "t").contains("An app on this device"));
    }

    #[test]
    fn a_redirect_away_from_the_document_host_is_warned_about() {
        let mut prompt = prompt(false);
        prompt.client_document_host = Some("agent.example.com".into());
        assert!(!consent(&prompt, "t").contains("where this client is described"));
        prompt.redirect_leaves_document_host = true;
        let page = consent(&prompt, "t");
        assert!(page.contains(
            "The answer goes to <strong>agent.example</strong>, not to <strong>agent.example.com</strong>"
        ), "{page}");
    }

    #[test]
    fn a_loopback_redirect_shows_the_warning() {
        assert!(consent(&prompt(true), "t").contains("your own computer"));
        assert!(!consent(&prompt(false), "t").contains("your own computer"));
    }

    #[test]
    fn the_form_shows_destination_scopes_and_carries_csrf() {
        let page = consent(&prompt(false), "t0ken");
        assert!(page.contains("agent.example"));
        assert!(page.contains("<code>write</code>"));
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("value=\"approve\"") && page.contains("value=\"deny\""));
    }
}
