//! The consent page: the person decides whether an agent may act for them.

use gatehouse_core::consent::{ConsentPrompt, DECISION_FIELD, REQUEST_FIELD};
use gatehouse_core::csrf;
use html_escape::encode_text as text;

use super::{document, hidden};

/// The consent form for `prompt`, carrying `csrf_token`.
pub fn consent(prompt: &ConsentPrompt, csrf_token: &str) -> String {
    let scopes: String = prompt
        .scopes
        .iter()
        .map(|(scope, description)| match description.as_str() {
            "" => format!("<li><code>{}</code></li>", text(scope)),
            d => format!("<li><code>{}</code>: {}</li>", text(scope), text(d)),
        })
        .collect();
    let loopback = if prompt.redirect_is_loopback {
        "<p class=\"warn\" role=\"note\">This agent receives the answer on <strong>your own computer</strong> \
         (a loopback address). Any program running there could be listening: approve only if you \
         started this agent yourself just now.</p>"
    } else {
        ""
    };
    // RFC 8252 §7.1: a private-use scheme hands the code to whichever app on this device opens
    // such links.
    let app = if prompt.redirect_is_app {
        format!(
            "<p class=\"warn\" role=\"note\">An app on this device will receive the code: the one that \
             opens <strong>{scheme}:</strong> links. Approve only if you started this from that app \
             just now.</p>",
            scheme = text(&prompt.redirect_destination)
        )
    } else {
        String::new()
    };
    let destination = if prompt.redirect_is_app {
        format!(
            "the app for <strong>{}:</strong> links on this device",
            text(&prompt.redirect_destination)
        )
    } else {
        format!("<strong>{}</strong>", text(&prompt.redirect_destination))
    };
    // A metadata document client names itself; the host its document came from vouches for it.
    // Any other client chose its name itself when it registered.
    let identified_by = match prompt.client_document_host.as_deref() {
        Some(host) => format!(
            " <span class=\"small\">client identified by <strong>https://{}/…</strong></span>",
            text(host)
        ),
        None => " <span class=\"small\">(name not verified: the agent chose it when it registered)</span>"
            .to_owned(),
    };
    let leaves_host = match (
        prompt.redirect_leaves_document_host,
        prompt.client_document_host.as_deref(),
    ) {
        (true, Some(host)) => format!(
            "<p class=\"warn\" role=\"note\">The answer goes to <strong>{destination}</strong>, not to \
             <strong>{host}</strong> where this client is described. Approve only if you expect this \
             agent to use that site.</p>",
            destination = text(&prompt.redirect_destination),
            host = text(host)
        ),
        _ => String::new(),
    };
    let body = format!(
        "<h1>Allow {client} to act for you?</h1>\
         <p><strong>{client}</strong>{identified_by} <span class=\"small\">(client id <code>{client_id}</code>)</span> \
         asks to use <strong>{app_name}</strong> <span class=\"small\">({app_url})</span> as \
         <strong>{email}</strong>, with these permissions:</p><ul class=\"scopes\">{scopes}</ul>\
         <p>You will then be sent to {destination}.</p>{loopback}{app}{leaves_host}\
         <p class=\"small\">Everything it does will be recorded as done by this agent on your behalf. \
         You can withdraw this permission at any time.</p>\
         <form method=\"post\" action=\"{action}\">{request}{csrf}\
         <button type=\"submit\" name=\"{decision}\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"{decision}\" value=\"deny\">Deny</button></form>",
        client = text(&prompt.client_name),
        client_id = text(&prompt.client_id),
        app_name = text(&prompt.app_name),
        app_url = text(&prompt.app_url),
        email = text(&prompt.person_email),
        action = html_escape::encode_double_quoted_attribute(&prompt.action),
        request = hidden(REQUEST_FIELD, &prompt.request),
        csrf = hidden(csrf::FIELD, csrf_token),
        decision = DECISION_FIELD,
    );
    document("Allow access?", &body)
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
