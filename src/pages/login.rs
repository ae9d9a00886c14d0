//! The login page: the local-account form when there are local accounts, and one button per
//! upstream OpenID Connect provider (each a CSRF-protected `POST` form).

use gatehouse_core::csrf;
use gatehouse_core::login::LoginPrompt;
#[cfg(test)]
use gatehouse_core::login::{AskingAgent, ProviderChoice};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{document, hidden};

/// The login form for `prompt`, carrying `csrf_token`.
pub fn login(prompt: &LoginPrompt, csrf_token: &str) -> String {
    let error = prompt
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", text(e)))
        .unwrap_or_default();
    let local = if prompt.local {
        local_form(prompt, csrf_token)
    } else {
        String::new()
    };
    let buttons: String = prompt
        .providers
        .iter()
        .map(|p| {
            format!(
                "<form method=\"post\" action=\"{action}\">{provider}{return_to}{csrf}\
                 <button type=\"submit\">Log in with {name}</button></form>",
                action = attr(&prompt.provider_action),
                provider = hidden("provider", &p.id),
                return_to = hidden("return_to", &prompt.return_to),
                csrf = hidden(csrf::FIELD, csrf_token),
                name = text(&p.name),
            )
        })
        .collect();
    let asking = prompt
        .agent
        .as_ref()
        .map(|agent| {
            let vouched = match &agent.document_host {
                Some(host) => format!("identified by https://{}/…", text(host)),
                None => "name not verified".to_owned(),
            };
            format!(
                "<p class=\"warn\">An agent, <strong>{name}</strong> <span class=\"small\">({vouched})</span>, \
                 asks to act for you at {app}. Log in first; you will then see what it asks for \
                 and can allow or refuse it.</p>",
                name = text(&agent.name),
                app = text(&prompt.app_name),
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Log in to {app}</h1>{asking}{error}{local}{buttons}",
        app = text(&prompt.app_name),
    );
    document("Log in", &body)
}

/// The email and password form.
fn local_form(prompt: &LoginPrompt, csrf_token: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">\
         <label for=\"email\">Email</label>\
         <input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         {return_to}{csrf}<button type=\"submit\">Log in</button></form>",
        action = attr(&prompt.action),
        email = attr(&prompt.email),
        return_to = hidden("return_to", &prompt.return_to),
        csrf = hidden(csrf::FIELD, csrf_token),
    )
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
