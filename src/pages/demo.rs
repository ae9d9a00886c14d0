//! The demo app's page: who gatehouse says is here, and a logout button; and the page for a
//! person the app's policy does not admit.

use askama::Template;
use gatehouse_core::{csrf, paths};

use super::template::render;

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage<'a> {
    rows: &'a [(String, String)],
    agents_href: &'a str,
    logout_action: &'a str,
    csrf_token: &'a str,
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage<'a> {
    app_name: &'a str,
    email: &'a str,
    logout_action: &'a str,
    csrf_token: &'a str,
}

/// The demo page showing the identity headers an origin receives.
pub fn demo(
    rows: &[(String, String)],
    agents_href: &str,
    logout_action: &str,
    csrf_token: &str,
) -> String {
    render(&DemoPage {
        rows,
        agents_href,
        logout_action,
        csrf_token,
    })
}

/// The page for a person the app's policy does not admit.
pub fn forbidden(app_name: &str, email: &str, logout_action: &str, csrf_token: &str) -> String {
    render(&ForbiddenPage {
        app_name,
        email,
        logout_action,
        csrf_token,
    })
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
