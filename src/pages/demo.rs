//! The demo app's page: who gatehouse says is here, and a logout button.

use gatehouse_core::{csrf, paths};
use html_escape::encode_text as text;

use super::{document, hidden};

/// The demo page showing the identity headers an origin receives.
pub fn demo(
    rows: &[(String, String)],
    agents_href: &str,
    logout_action: &str,
    csrf_token: &str,
) -> String {
    let rows: String = rows
        .iter()
        .map(|(name, value)| {
            format!(
                "<li><code>{}</code>: <code>{}</code></li>",
                text(name),
                text(value)
            )
        })
        .collect();
    let body = format!(
        "<h1>Demo app</h1><p>gatehouse let you in. This is what an app behind it receives with \
         every request:</p><ul>{rows}</ul>\
         <p class=\"small\">The <code>Gatehouse-Assertion</code> JWT can be verified with the keys at \
         <code>{jwks}</code>.</p>\
         <p>Agents acting for you here, and a button to revoke each: \
         <a href=\"{agents}\">connected agents</a>. MCP clients connect to this app at \
         <code>/mcp</code>.</p>\
         <form method=\"post\" action=\"{logout}\">{csrf}<button type=\"submit\">Log out</button></form>",
        jwks = paths::JWKS,
        agents = html_escape::encode_double_quoted_attribute(agents_href),
        logout = html_escape::encode_double_quoted_attribute(logout_action),
        csrf = hidden(csrf::FIELD, csrf_token),
    );
    document("Demo app", &body)
}

/// The page for a person the app's policy does not admit.
pub fn forbidden(app_name: &str, email: &str, logout_action: &str, csrf_token: &str) -> String {
    let body = format!(
        "<h1>No access to {app}</h1><p class=\"error\">You are logged in as <strong>{email}</strong>, \
         and {app} does not admit this account.</p>\
         <form method=\"post\" action=\"{logout}\">{csrf}<button type=\"submit\">Log out</button></form>",
        app = text(app_name),
        email = text(email),
        logout = html_escape::encode_double_quoted_attribute(logout_action),
        csrf = hidden(csrf::FIELD, csrf_token),
    );
    document("No access", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_logout_carries_csrf() {
        let page = demo(
            &[("Gatehouse-Client-Name".into(), "<script>x</script>".into())],
            "/wiki/.gatehouse/agents",
            "/.gatehouse/logout",
            "t0k",
        );
        assert!(!page.contains("<script>x"));
        assert!(page.contains("<a href=\"/wiki/.gatehouse/agents\">connected agents</a>"));
        assert!(page.contains("name=\"csrf_token\" value=\"t0k\""));
        let page = forbidden(
            "<b>Wiki</b>",
            "eve@evil.example",
            "/.gatehouse/logout",
            "t0k",
        );
        assert!(page.contains("&lt;b&gt;Wiki&lt;/b&gt;"));
    }
}
