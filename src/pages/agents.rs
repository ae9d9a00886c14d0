//! The connected-agents page: the agents acting for the person at this app, each with a revoke
//! button.

use gatehouse_core::agents::{AgentsView, GRANT_FIELD};
use gatehouse_core::csrf;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{document, hidden};

/// The page for `view`, its forms carrying `csrf_token`.
pub fn agents(view: &AgentsView, csrf_token: &str) -> String {
    let rows: String = view
        .agents
        .iter()
        .map(|agent| {
            let loopback = if agent.redirect_is_loopback { " (on your own computer)" } else { "" };
            let last_used = agent.last_used_at.map(utc).unwrap_or_else(|| "never".into());
            // A metadata document agent: its host vouches for it, and one document serves every
            // installation, so the full redirect URI tells them apart.
            let (identified_by, destination) = match &agent.client_document_host {
                Some(host) => (
                    format!(" <span class=\"small\">identified by https://{}/…</span>", text(host)),
                    &agent.redirect_uri,
                ),
                None => (String::new(), &agent.redirect_destination),
            };
            // A device grant (RFC 8628) has no redirect URI: the person typed a code instead.
            let reached = if agent.redirect_uri.is_empty() {
                "signed in with a code you typed (device grant)".to_owned()
            } else {
                format!("answers to <code>{}</code>{loopback}", text(destination))
            };
            format!(
                "<li><strong>{name}</strong>{identified_by} <span class=\"small\">client id <code>{id}</code></span><br>\
                 {reached}; may <span class=\"scopes\">{scopes}</span><br>\
                 <span class=\"small\">approved {created}, last used {last_used}</span>\
                 <form method=\"post\" action=\"{action}\">{grant}{csrf}<button type=\"submit\">Revoke</button></form></li>",
                name = text(&agent.client_name),
                id = text(&agent.client_id),
                scopes = agent
                    .scopes
                    .iter()
                    .map(|scope| format!("<code>{}</code>", text(scope)))
                    .collect::<Vec<_>>()
                    .join(" "),
                created = utc(agent.created_at),
                action = attr(&view.revoke_action),
                grant = hidden(GRANT_FIELD, &agent.grant_id),
                csrf = hidden(csrf::FIELD, csrf_token),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p>No agent acts for you here.</p>".to_owned()
    } else {
        format!("<ul>{rows}</ul>")
    };
    let body = format!(
        "<h1>Agents acting for you at {app}</h1><p class=\"small\">Signed in as {email}. Revoking an \
         agent ends its access at once; it would have to ask you again.</p>{list}",
        app = text(&view.app_name),
        email = text(&view.person_email),
    );
    document("Connected agents", &body)
}

/// `YYYY-MM-DD HH:MM UTC` for Unix seconds.
pub(super) fn utc(secs: u64) -> String {
    let c = gatehouse_core::time::UnixTime(secs).civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::agents::ConnectedAgent;

    fn view() -> AgentsView {
        AgentsView {
            app_name: "Wiki".into(),
            person_email: "alice@example.com".into(),
            agents: vec![ConnectedAgent {
                grant_id: "g_1".into(),
                client_id: "c_1".into(),
                client_name: "<script>x</script>".into(),
                client_document_host: None,
                redirect_uri: "http://127.0.0.1:4242/cb".into(),
                redirect_destination: "127.0.0.1".into(),
                redirect_is_loopback: true,
                scopes: vec!["read".into(), "write".into()],
                created_at: 1_800_000_000,
                last_used_at: None,
            }],
            revoke_action: "/.gatehouse/agents/revoke".into(),
        }
    }

    #[test]
    fn agents_are_listed_escaped_with_a_revoke_form_each() {
        let page = agents(&view(), "t0k");
        assert!(!page.contains("<script>x"), "{page}");
        assert!(page.contains("name=\"grant_id\" value=\"g_1\""));
        assert!(page.contains("name=\"csrf_token\" value=\"t0k\""));
        assert!(page.contains("on your own computer"));
        assert!(page.contains("approved 2027-01-15 08:00 UTC"));
        assert!(page.contains("last used never"));
    }

    #[test]
    fn a_metadata_document_agent_shows_its_host_and_full_redirect_uri() {
        let mut view = view();
        assert!(!agents(&view, "t").contains("identified by"));
        if let Some(agent) = view.agents.first_mut() {
            agent.client_document_host = Some("agent.example.com".into());
        }
        let page = agents(&view, "t");
        assert!(
            page.contains("identified by https://agent.example.com/…"),
            "{page}"
        );
        assert!(
            page.contains("<code>http://127.0.0.1:4242/cb</code>"),
            "{page}"
        );
    }

    #[test]
    fn a_device_grant_says_how_it_was_approved_instead_of_an_empty_destination() {
        let mut view = view();
        if let Some(agent) = view.agents.first_mut() {
            agent.redirect_uri = String::new();
            agent.redirect_destination = String::new();
            agent.redirect_is_loopback = false;
        }
        let page = agents(&view, "t");
        assert!(
            page.contains("signed in with a code you typed (device grant)"),
            "{page}"
        );
        assert!(!page.contains("answers to"), "{page}");
        assert!(!page.contains("<code></code>"), "{page}");
    }

    #[test]
    fn each_scope_is_its_own_unbreakable_word() {
        let page = agents(&view(), "t");
        assert!(
            page.contains("<span class=\"scopes\"><code>read</code> <code>write</code></span>"),
            "{page}"
        );
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
