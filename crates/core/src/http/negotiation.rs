//! What a request asks for, read from `Accept` and Fetch Metadata with the one parser of
//! [`media_type`](super::media_type).

use super::media_type::Accept;

/// Whether the request is a person's browser navigating to a page: such a request without
/// credentials is sent to the login page; everything else gets a machine-readable `401`.
/// `Sec-Fetch-Mode` (Fetch Metadata) decides where the browser sends it; otherwise a `GET` or
/// `HEAD` whose `Accept` lists `text/html` by name with a weight above zero (RFC 9110 §12.5.1:
/// `q=0`, in any spelling, means "not acceptable"; `*/*` alone is what `curl` sends).
pub fn is_browser_navigation(
    method: &str,
    accept: Option<&str>,
    sec_fetch_mode: Option<&str>,
) -> bool {
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        return false;
    }
    if let Some(mode) = sec_fetch_mode {
        return mode.eq_ignore_ascii_case("navigate");
    }
    Accept::new(accept).weight("text", "html").is_listed()
}

/// Whether a page that also exists as JSON should be answered in JSON: `application/json` is
/// named with a weight above zero and not below `text/html`'s (the connected-agents page).
pub fn wants_json(accept: Option<&str>) -> bool {
    let accept = Accept::new(accept);
    let json = accept.weight("application", "json");
    json.is_listed() && json.q >= accept.weight("text", "html").q
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn browsers_navigating_are_told_apart_from_agents() {
        let html = Some("text/html,application/xhtml+xml,*/*;q=0.8");
        assert!(is_browser_navigation("GET", html, Some("navigate")));
        assert!(is_browser_navigation("GET", html, None));
        assert!(
            !is_browser_navigation("GET", html, Some("cors")),
            "fetch() from a page is not a navigation"
        );
        assert!(!is_browser_navigation("POST", html, Some("navigate")));
        assert!(!is_browser_navigation("GET", Some("*/*"), None), "curl");
        assert!(!is_browser_navigation(
            "GET",
            Some("application/json"),
            None
        ));
        assert!(!is_browser_navigation(
            "GET",
            Some("text/html;q=0, application/json"),
            None
        ));
        // Issue 19: `q=0.0` and `q=0.000` are the same weight as `q=0` (RFC 9110 §12.4.2): not
        // acceptable, so not a browser asking for a page.
        for refused in [
            "text/html;q=0.0, application/json",
            "text/html; q=0.000, application/json",
            "TEXT/HTML;Q=0.00",
        ] {
            assert!(
                !is_browser_navigation("GET", Some(refused), None),
                "{refused}"
            );
        }
        assert!(is_browser_navigation("GET", Some("text/html;q=0.1"), None));
        assert!(!is_browser_navigation("GET", None, None));
    }

    #[test]
    fn json_is_answered_when_asked_for_by_name() {
        assert!(wants_json(Some("application/json")));
        assert!(wants_json(Some("application/json, text/html")));
        assert!(wants_json(Some("text/html;q=0.5, application/json")));
        assert!(!wants_json(Some(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_json(Some("application/json;q=0")));
        assert!(!wants_json(Some("*/*")));
        assert!(!wants_json(None));
    }

    proptest! {
        #[test]
        fn never_panics(header in ".{0,64}", method in "[A-Za-z]{0,8}") {
            let _ = is_browser_navigation(&method, Some(&header), Some(&header));
            let _ = wants_json(Some(&header));
        }
    }
}
