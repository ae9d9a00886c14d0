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
    // A metadata document client names itself; the host its document came from vouches for it.
    let identified_by = prompt
        .client_document_host
        .as_deref()
        .map(|host| {
            format!(
                " <span class=\"small\">client identified by <strong>https://{}/…</strong></span>",
                text(host)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Allow {client} to act for you?</h1>\
         <p><strong>{client}</strong>{identified_by} <span class=\"small\">(client id <code>{client_id}</code>)</span> \
         asks to use <strong>{app}</strong> <span class=\"small\">({app_url})</span> as \
         <strong>{email}</strong>, with these permissions:</p><ul>{scopes}</ul>\
         <p>You will then be sent to <strong>{destination}</strong>.</p>{loopback}\
         <p class=\"small\">Everything it does will be recorded as done by this agent on your behalf. \
         You can withdraw this permission at any time.</p>\
         <form method=\"post\" action=\"{action}\">{request}{csrf}\
         <button type=\"submit\" name=\"{decision}\" value=\"approve\">Allow</button>\
         <button type=\"submit\" name=\"{decision}\" value=\"deny\">Deny</button></form>",
        client = text(&prompt.client_name),
        client_id = text(&prompt.client_id),
        app = text(&prompt.app_name),
        app_url = text(&prompt.app_url),
        email = text(&prompt.person_email),
        destination = text(&prompt.redirect_destination),
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
