//! The login page: the local-account form when there are local accounts, and one button per
//! upstream OpenID Connect provider (each a CSRF-protected `POST` form). An agent's
//! authorization says which agent is asking, and whether its name is verified.

use askama::Template;
use gatehouse_core::csrf;
use gatehouse_core::login::LoginPrompt;
#[cfg(test)]
use gatehouse_core::login::{AskingAgent, ProviderChoice};

use super::template::render;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    prompt: &'a LoginPrompt,
    csrf_token: &'a str,
}

/// The login form for `prompt`, carrying `csrf_token`.
pub fn login(prompt: &LoginPrompt, csrf_token: &str) -> String {
    render(&LoginPage { prompt, csrf_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt() -> LoginPrompt {
        LoginPrompt {
            app_name: "<script>alert(1)</script>".into(),
            action: "/wiki/.gatehouse/login".into(),
            return_to: "/oauth/authorize?a=\"><script>".into(),
            email: "\"><img src=x onerror=alert(1)>".into(),
            error: Some("Wrong email or password."),
            local: true,
            providers: vec![ProviderChoice {
                id: "corp".into(),
                name: "<b>Corp</b> SSO".into(),
            }],
            provider_action: "/wiki/.gatehouse/oidc/start".into(),
            agent: Some(AskingAgent {
                name: "<i>Claude Code (official)</i>".into(),
                document_host: None,
            }),
        }
    }

    #[test]
    fn providers_are_buttons_posting_with_csrf_and_without_the_local_form_when_off() {
        let page = login(&prompt(), "t0ken");
        assert!(page.contains("action=\"/wiki/.gatehouse/oidc/start\""));
        assert!(page.contains("name=\"provider\" value=\"corp\""));
        assert!(page.contains("Log in with &lt;b&gt;Corp&lt;/b&gt; SSO"));
        assert_eq!(
            page.matches("name=\"csrf_token\" value=\"t0ken\"").count(),
            2
        );
        let upstream_only = login(
            &LoginPrompt {
                local: false,
                ..prompt()
            },
            "t0ken",
        );
        assert!(!upstream_only.contains("name=\"password\""));
        assert!(upstream_only.contains("name=\"provider\""));
    }

    #[test]
    fn every_value_is_escaped() {
        let page = login(&prompt(), "tok\"en");
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("value=\"tok&quot;en\""));
    }

    #[test]
    fn the_form_carries_csrf_and_return_to_and_shows_the_error() {
        let page = login(&prompt(), "t0ken");
        assert!(page.contains("name=\"csrf_token\" value=\"t0ken\""));
        assert!(page.contains("name=\"return_to\""));
        assert!(page.contains("Wrong email or password."));
        assert!(page.contains("action=\"/wiki/.gatehouse/login\""));
    }

    #[test]
    fn an_agents_authorization_says_which_agent_is_asking_and_whether_its_name_is_verified() {
        let page = login(&prompt(), "t");
        assert!(
            page.contains("An agent, <strong>&lt;i&gt;Claude Code (official)&lt;/i&gt;</strong>"),
            "{page}"
        );
        assert!(page.contains("(name not verified)"), "{page}");
        let mut documented = prompt();
        documented.agent = Some(AskingAgent {
            name: "Agent".into(),
            document_host: Some("agent.example.com".into()),
        });
        let page = login(&documented, "t");
        assert!(
            page.contains("(identified by https://agent.example.com/…)"),
            "{page}"
        );
        let own = login(
            &LoginPrompt {
                agent: None,
                ..prompt()
            },
            "t",
        );
        assert!(!own.contains("An agent"), "{own}");
    }
}
