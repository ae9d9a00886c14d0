//! The connected-agents page: the agents acting for the person at this app, each with a revoke
//! button.

use askama::Template;
use gatehouse_core::agents::{AgentsView, ConnectedAgent, GRANT_FIELD};
use gatehouse_core::csrf;

use super::template::{render, utc};

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage<'a> {
    view: &'a AgentsView,
    rows: Vec<AgentRow<'a>>,
    csrf_token: &'a str,
}

/// One agent and its dates, as the page says them.
struct AgentRow<'a> {
    agent: &'a ConnectedAgent,
    created: String,
    last_used: String,
}

/// The page for `view`, its forms carrying `csrf_token`.
pub fn agents(view: &AgentsView, csrf_token: &str) -> String {
    let rows = view
        .agents
        .iter()
        .map(|agent| AgentRow {
            agent,
            created: utc(agent.created_at),
            last_used: agent
                .last_used_at
                .map(utc)
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    render(&AgentsPage {
        view,
        rows,
        csrf_token,
    })
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
}
