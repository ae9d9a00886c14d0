//! Every page, in each of its shapes, rendered with a hostile value in every field a client, a
//! person or an operator chooses: client names and ids, scope names and descriptions, app names
//! and URLs, people's emails and subjects, redirect URIs and hosts, user codes, audit details,
//! held writes, health details, filter values. The value tries each way out of HTML: a `<script>`
//! element, breaking out of a quoted attribute into an `onerror` handler, and a `javascript:` URL.
//! Each page must render it as text (escaped, and shown), with exactly the elements and
//! attributes it has for a plain value, and every link and form must point at gatehouse's own
//! paths.

use gatehouse_core::admin::audit::{AuditFilter, AuditRow, ConsoleAudit};
use gatehouse_core::admin::clients::{ClientAction, Confirmation, ConsoleClients};
use gatehouse_core::admin::console::{ConsoleGrant, ConsoleGrants, ConsoleLinks, GrantsFilter};
use gatehouse_core::admin::people::ConsolePeople;
use gatehouse_core::admin::state::{ConsoleState, HeldRow};
use gatehouse_core::agents::{AgentsView, ConnectedAgent};
use gatehouse_core::consent::ConsentPrompt;
use gatehouse_core::device::verification::{DeviceConsentPrompt, UserCodePrompt};
use gatehouse_core::error::{OAuthError, Reason};
use gatehouse_core::health::{Check, Plan, Report};
use gatehouse_core::login::{AskingAgent, LoginPrompt, ProviderChoice};
use gatehouse_core::store::{ClientUse, PersonUse, RevocationReason};

use super::*;

/// Ends a text node, a quoted attribute (either quote) and a tag, then tries a script element, an
/// event handler and a `javascript:` URL; the e2e suite (`hostile_values.test.mjs`) sends the
/// same through a real browser.
const HOSTILE: &str = "\"'></textarea></title><script>window.__pwned=1</script>\
    <img src=x onerror=\"window.__pwned=2\">javascript:window.__pwned=3";

/// A value with nothing to escape, for the page's shape.
const PLAIN: &str = "plain value";

/// `HOSTILE` as the pages must show it.
const HOSTILE_ESCAPED: &str = "&quot;&#x27;&gt;&lt;/textarea&gt;&lt;/title&gt;&lt;script&gt;\
    window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;\
    javascript:window.__pwned=3";

/// Every page gatehouse renders, by name and shape, with `v` in every value an outsider chooses.
/// `alt` flips every choice a page makes (loopback or not, a document host or not, live or
/// revoked, …), so both sides of each are rendered. Links and form actions are gatehouse's own
/// paths (the core makes them from the site's path), so they are plain here.
fn every_page(v: &str, alt: bool) -> Vec<(&'static str, String)> {
    let s = || v.to_owned();
    let some = |on: bool| on.then(|| v.to_owned());
    // `&'static str` fields are fixed texts in the core; a leaked copy puts `v` there too.
    let fixed: &'static str = Box::leak(v.to_owned().into_boxed_str());
    let refusal = OAuthError {
        description: fixed,
        ..OAuthError::from(Reason::RedirectUriMismatch)
    };
    let links = ConsoleLinks {
        grants: "/g".into(),
        agents: "/a".into(),
        people: "/p".into(),
        audit: "/au".into(),
        state: "/s".into(),
    };
    let client = ClientUse {
        client_id: s(),
        client_name: some(!alt),
        source: if alt { "metadata_document" } else { "dynamic" }.into(),
        created_at: 1_800_000_000,
        last_used_at: (!alt).then_some(1_800_000_100),
        disabled_at: alt.then_some(1_800_000_200),
        people: 3,
        live_grants: 4,
    };
    let person = PersonUse {
        subject: format!("local:{v}"),
        email: s(),
        sessions: 2,
        last_seen_at: alt.then_some(1_800_000_000),
        live_grants: 5,
    };
    vec![
        (
            "login",
            login(
                &LoginPrompt {
                    app_name: s(),
                    action: "/login".into(),
                    return_to: s(),
                    email: s(),
                    error: Some(fixed),
                    local: !alt,
                    providers: vec![ProviderChoice { id: s(), name: s() }],
                    provider_action: "/oidc/start".into(),
                    agent: Some(AskingAgent {
                        name: s(),
                        document_host: some(alt),
                    }),
                },
                v,
            ),
        ),
        (
            "consent",
            consent(
                &ConsentPrompt {
                    client_name: s(),
                    client_id: s(),
                    client_document_host: some(alt),
                    redirect_destination: s(),
                    redirect_is_loopback: !alt,
                    redirect_is_app: alt,
                    redirect_leaves_document_host: alt,
                    app_name: s(),
                    app_url: s(),
                    scopes: vec![(s(), s()), (s(), String::new())],
                    person_email: s(),
                    request: s(),
                    action: "/consent".into(),
                },
                v,
            ),
        ),
        (
            "agents",
            agents(
                &AgentsView {
                    app_name: s(),
                    person_email: s(),
                    agents: vec![ConnectedAgent {
                        grant_id: s(),
                        client_id: s(),
                        client_name: s(),
                        client_document_host: some(alt),
                        redirect_uri: s(),
                        redirect_destination: s(),
                        redirect_is_loopback: !alt,
                        scopes: vec![s(), s()],
                        created_at: 1_800_000_000,
                        last_used_at: alt.then_some(1_800_000_100),
                    }],
                    revoke_action: "/agents/revoke".into(),
                },
                v,
            ),
        ),
        (
            "device_entry",
            device_entry(
                &UserCodePrompt {
                    app_name: s(),
                    person_email: s(),
                    user_code: s(),
                    error: (!alt).then_some(fixed),
                    action: "/device".into(),
                },
                v,
            ),
        ),
        (
            "device_consent",
            device_consent(
                &DeviceConsentPrompt {
                    client_name: s(),
                    client_id: s(),
                    app_name: s(),
                    app_url: s(),
                    scopes: vec![(s(), s())],
                    person_email: s(),
                    user_code: s(),
                    action: "/device".into(),
                },
                v,
            ),
        ),
        ("device_done", device_done(!alt, v)),
        ("device_refused", device_refused(&refusal)),
        ("error", error(&refusal)),
        ("not_found", not_found("/")),
        ("paused", paused(if alt { 60 } else { 300 })),
        ("login_failed", login_failed(&refusal, "/login")),
        (
            "demo",
            demo(&[(s(), s()), (s(), s())], "/agents", "/logout", v),
        ),
        ("forbidden", forbidden(v, v, "/logout", v)),
        (
            "console_grants",
            console_grants(
                &ConsoleGrants {
                    admin: s(),
                    app_name: s(),
                    filter: GrantsFilter {
                        person: some(true),
                        client_id: some(!alt),
                        all_apps: alt,
                        scope: some(alt),
                        ..GrantsFilter::default()
                    },
                    grants: vec![ConsoleGrant {
                        grant_id: s(),
                        subject: format!("local:{v}"),
                        email: s(),
                        client_id: s(),
                        app: s(),
                        scopes: vec![s(), s()],
                        created_at: 1_800_000_000,
                        revoked_at: alt.then_some(1_800_000_060),
                        revoked_reason: alt.then_some(RevocationReason::AdminRequest),
                    }],
                    truncated: alt,
                    revoked: Some(if alt { 1 } else { 2 }),
                    list_action: "/g".into(),
                    revoke_action: "/g/revoke".into(),
                    links: links.clone(),
                },
                v,
            ),
        ),
        (
            "console_clients",
            console_clients(
                &ConsoleClients {
                    admin: s(),
                    clients: vec![client.clone()],
                    truncated: alt,
                    confirmation: Some(Confirmation {
                        action: if alt {
                            ClientAction::Enable
                        } else {
                            ClientAction::Disable
                        },
                        client: ClientUse {
                            client_name: some(true),
                            ..client
                        },
                        post_to: "/a/disable".into(),
                    }),
                    done: Some(if alt { "enabled" } else { "disabled" }.into()),
                    revoked: Some(4),
                    list_action: "/a".into(),
                    links: links.clone(),
                },
                v,
            ),
        ),
        (
            "console_people",
            console_people(
                &ConsolePeople {
                    admin: s(),
                    people: vec![person.clone()],
                    truncated: alt,
                    confirmation: Some(person),
                    revoked: alt.then_some(3),
                    list_action: "/p".into(),
                    revoke_action: "/p/revoke".into(),
                    links: links.clone(),
                },
                v,
            ),
        ),
        (
            "console_state",
            console_state(
                &ConsoleState {
                    admin: s(),
                    migration: (!alt).then_some((30, 300)),
                    held: vec![HeldRow {
                        kind: s(),
                        write: s(),
                        failures: 2,
                        last_error: some(true),
                        retry_at: alt.then_some(1_800_000_000),
                    }],
                    held_bound_reached: alt,
                    health_check: "/healthz".into(),
                    links: links.clone(),
                },
                &Report::new(
                    Plan { kv_write: true },
                    Check::passed(v),
                    if alt {
                        Check::passed(v)
                    } else {
                        Check::failed(v)
                    },
                    Check::passed(v),
                ),
            ),
        ),
        (
            "console_audit",
            console_audit(&ConsoleAudit {
                admin: s(),
                filter: AuditFilter {
                    subject: some(true),
                    client_id: some(alt),
                    since: alt.then_some(1_800_000_000),
                    ..AuditFilter::default()
                },
                events: vec![
                    AuditRow {
                        id: 7,
                        at: 1_800_000_000,
                        kind: s(),
                        subject: some(true),
                        client_id: some(!alt),
                        grant_id: some(true),
                        by: some(alt),
                        source: some(!alt),
                        detail: format!("{{\"client_name\":\"{v}\"}}"),
                    },
                    AuditRow {
                        id: 8,
                        at: 1_800_000_001,
                        kind: s(),
                        subject: None,
                        client_id: some(alt),
                        grant_id: None,
                        by: None,
                        source: None,
                        detail: s(),
                    },
                ],
                older: Some("before=1800000000.7".into()),
                list_action: "/au".into(),
                links,
            }),
        ),
    ]
}

/// The page's elements and attribute names in order, attribute values and text left out. Values
/// are escaped, so a quote inside one would end it here too, and a `<` in text would start an
/// element: a hostile value that got out changes this.
fn skeleton(page: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find('<') {
        let tag = rest.get(start..).unwrap_or_default();
        let end = tag.find('>').map_or(tag.len(), |e| e + 1);
        let mut shape = String::new();
        let mut quoted = false;
        for c in tag.get(..end).unwrap_or_default().chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted {
                shape.push(c);
            }
        }
        tags.push(shape);
        rest = tag.get(end..).unwrap_or_default();
    }
    tags
}

/// The values of every `name="…"` attribute of `page`.
fn attribute_values<'p>(page: &'p str, name: &str) -> Vec<&'p str> {
    let key = format!(" {name}=\"");
    page.match_indices(&key)
        .filter_map(|(at, _)| {
            let value = page.get(at + key.len()..)?;
            value.get(..value.find('"')?)
        })
        .collect()
}

#[test]
fn hostile_values_render_as_text_on_every_page() {
    for alt in [false, true] {
        let plain = every_page(PLAIN, alt);
        let hostile = every_page(HOSTILE, alt);
        assert_eq!(plain.len(), 18, "every page function is rendered");
        for ((name, plain), (_, page)) in plain.iter().zip(&hostile) {
            let shape = format!("{name} (alt: {alt})");
            for raw in ["<script", "<img", "</textarea"] {
                assert!(!page.contains(raw), "{shape}: {raw} got through:\n{page}");
            }
            assert_eq!(
                skeleton(page),
                skeleton(plain),
                "{shape}: a hostile value changed the page's elements or attributes:\n{page}"
            );
            // The value is shown, as text: a page that shows a plain value shows the hostile one.
            if plain.contains(PLAIN) {
                assert!(page.contains(HOSTILE_ESCAPED), "{shape}:\n{page}");
            }
        }
    }
}

#[test]
fn every_link_and_form_points_at_gatehouse_itself() {
    for alt in [false, true] {
        for (name, page) in every_page(HOSTILE, alt) {
            for attribute in ["href", "action", "src", "formaction"] {
                for value in attribute_values(&page, attribute) {
                    assert!(
                        value.starts_with('/'),
                        "{name}: {attribute}=\"{value}\" is not one of gatehouse's paths"
                    );
                }
            }
            // No event handler and no inline style on any element.
            for tag in skeleton(&page) {
                let attributes = tag.split_whitespace().skip(1);
                for attribute in attributes {
                    let attribute = attribute.trim_end_matches(['=', '>']);
                    assert!(
                        !attribute.starts_with("on") && attribute != "style",
                        "{name}: {tag}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_hostile_value_is_kept_exactly_in_hidden_fields_and_inputs() {
    // A person's typed email, the form's return path, the consent request: escaped in the
    // attribute, so the browser sends back exactly what was put in.
    for (name, page) in every_page(HOSTILE, false) {
        for value in attribute_values(&page, "value") {
            let decoded = value
                .replace("&quot;", "\"")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            assert!(
                !value.contains(['"', '<', '>']),
                "{name}: value=\"{value}\""
            );
            if decoded.contains("<script>") {
                assert!(decoded.ends_with(HOSTILE), "{name}: {decoded}");
            }
        }
    }
}

#[test]
fn every_page_function_is_rendered_here() {
    // A page added to src/pages without a row in `every_page` would go untested.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/pages");
    let mut functions: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            text.lines()
                .filter_map(|line| line.strip_prefix("pub fn "))
                .filter_map(|rest| rest.split('(').next().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .filter(|name| name != "content_security_policy")
        .collect();
    functions.sort();
    let mut rendered: Vec<String> = every_page(PLAIN, false)
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    rendered.sort();
    assert_eq!(functions, rendered);
}

#[test]
fn no_template_turns_escaping_off() {
    // `|safe`, `|escape("none")` or an `escape = "none"` template would let a value through as
    // markup; the pages have none.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let mut templates = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for off in [
            "|safe",
            "escape(\"none\")",
            "|e(\"none\")",
            "filtersafe",
            "|json",
        ] {
            assert!(!squeezed.contains(off), "{}: {off}", path.display());
        }
        templates += 1;
    }
    assert!(templates >= 18, "{templates} templates");
    let pages = concat!(env!("CARGO_MANIFEST_DIR"), "/src/pages");
    for entry in std::fs::read_dir(pages).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("#[template("))
        {
            assert!(
                line.contains("path = \"") && !line.contains("escape") && !line.contains("ext"),
                "{}: {line}",
                path.display()
            );
        }
    }
}
