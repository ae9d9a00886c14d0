//! The admin console's pages. The people page: sessions and agents per person, and a
//! confirmation before cutting one off. The agents page: each client's use, and a confirmation
//! that spells out a disable or enable before its form. The grants page: a filter form (`GET`),
//! one revoke form per grant, and a revoke-many form. The audit page: search, export, events. The
//! state page: migration mode, held writes, health. Markup in `templates/console_*.html`.

use askama::Template;
use gatehouse_core::admin::audit::{AuditFilter, AuditRow, ConsoleAudit};
use gatehouse_core::admin::clients::{ClientAction, Confirmation, ConsoleClients};
use gatehouse_core::admin::console::{
    ConsoleGrant, ConsoleGrants, ConsoleLinks, GRANT_FIELD, GrantState, GrantsFilter, RETURN_FIELD,
};
use gatehouse_core::admin::people::ConsolePeople;
use gatehouse_core::admin::state::{ConsoleState, HeldRow};
use gatehouse_core::csrf;
use gatehouse_core::health::{Check, Report};
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::store::{ClientUse, PersonUse};

use super::template::{render, utc};

/// The console's navigation, as `console_nav.html` lists it: (label, href, current).
type Nav<'a> = [(&'static str, &'a str, bool); 5];

/// The links to the console's pages; `current` is shown as plain text.
fn nav<'a>(links: &'a ConsoleLinks, current: &str) -> Nav<'a> {
    [
        ("Grants", &links.grants),
        ("Agents", &links.agents),
        ("People", &links.people),
        ("Audit", &links.audit),
        ("State", &links.state),
    ]
    .map(|(label, href)| (label, href.as_str(), label == current))
}

#[derive(Template)]
#[template(path = "console_grants.html")]
struct GrantsPage<'a> {
    nav: Nav<'a>,
    view: &'a ConsoleGrants,
    filter: &'a GrantsFilter,
    /// Each grant state's name, and whether the filter has it.
    states: Vec<(&'static str, bool)>,
    rows: Vec<GrantRow<'a>>,
    /// How many of the grants shown are live.
    live: usize,
    /// The filter as a query, for the revoke forms to return to.
    back: String,
    csrf_token: &'a str,
}

/// One grant and its dates, as the page says them.
struct GrantRow<'a> {
    grant: &'a ConsoleGrant,
    created: String,
    /// `live`, or when and why it was revoked.
    state: String,
}

/// The grants page for `view`, its forms carrying `csrf_token`.
pub fn console_grants(view: &ConsoleGrants, csrf_token: &str) -> String {
    let rows = view
        .grants
        .iter()
        .map(|grant| GrantRow {
            grant,
            created: utc(grant.created_at),
            state: match grant.revoked_at {
                None => "live".to_owned(),
                Some(at) => {
                    let why = grant
                        .revoked_reason
                        .and_then(|r| serde_json::to_value(r).ok())
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    format!("revoked {} ({why})", utc(at))
                }
            },
        })
        .collect();
    render(&GrantsPage {
        nav: nav(&view.links, "Grants"),
        view,
        filter: &view.filter,
        states: GrantState::ALL
            .into_iter()
            .map(|s| (s.as_str(), s == view.filter.state))
            .collect(),
        rows,
        live: view
            .grants
            .iter()
            .filter(|g| g.revoked_at.is_none())
            .count(),
        back: view.filter.query(),
        csrf_token,
    })
}

#[derive(Template)]
#[template(path = "console_clients.html")]
struct ClientsPage<'a> {
    nav: Nav<'a>,
    view: &'a ConsoleClients,
    /// The change to confirm, and the client's name as the page says it.
    confirmation: Option<(&'a Confirmation, &'a str)>,
    rows: Vec<ClientRow<'a>>,
    csrf_token: &'a str,
}

/// One client, its dates, and the link to change it.
struct ClientRow<'a> {
    client: &'a ClientUse,
    name: &'a str,
    /// How gatehouse came to know it.
    known: &'static str,
    created: String,
    last_used: String,
    /// The confirmation of a disable (or enable, when disabled).
    href: String,
}

/// What a client is called on the page: its name, or its id.
fn client_label(client: &ClientUse) -> &str {
    client.client_name.as_deref().unwrap_or(&client.client_id)
}

/// The agents (clients) page for `view`; a confirmation's form carries `csrf_token`.
pub fn console_clients(view: &ConsoleClients, csrf_token: &str) -> String {
    let rows = view
        .clients
        .iter()
        .map(|client| {
            let action = match client.disabled_at {
                None => ClientAction::Disable,
                Some(_) => ClientAction::Enable,
            };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("confirm", action.as_str())
                .append_pair("client_id", &client.client_id)
                .finish();
            ClientRow {
                client,
                name: client_label(client),
                known: match client.source.as_str() {
                    "metadata_document" => "identified by its metadata document",
                    "static" => "added by the operator",
                    _ => "registered (RFC 7591)",
                },
                created: utc(client.created_at),
                last_used: client
                    .last_used_at
                    .map(utc)
                    .unwrap_or_else(|| "never".into()),
                href: format!("{}?{query}", view.list_action),
            }
        })
        .collect();
    render(&ClientsPage {
        nav: nav(&view.links, "Agents"),
        view,
        confirmation: view
            .confirmation
            .as_ref()
            .map(|c| (c, client_label(&c.client))),
        rows,
        csrf_token,
    })
}

#[derive(Template)]
#[template(path = "console_people.html")]
struct PeoplePage<'a> {
    nav: Nav<'a>,
    view: &'a ConsolePeople,
    rows: Vec<PersonRow<'a>>,
    csrf_token: &'a str,
}

/// One person, when last seen, and the link to cut them off.
struct PersonRow<'a> {
    person: &'a PersonUse,
    seen: String,
    href: String,
}

/// The people page for `view`; a confirmation's form carries `csrf_token`.
pub fn console_people(view: &ConsolePeople, csrf_token: &str) -> String {
    let rows = view
        .people
        .iter()
        .map(|person| {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("confirm", &person.subject)
                .finish();
            PersonRow {
                person,
                seen: person
                    .last_seen_at
                    .map(utc)
                    .unwrap_or_else(|| "never".into()),
                href: format!("{}?{query}", view.list_action),
            }
        })
        .collect();
    render(&PeoplePage {
        nav: nav(&view.links, "People"),
        view,
        rows,
        csrf_token,
    })
}

#[derive(Template)]
#[template(path = "console_state.html")]
struct StatePage<'a> {
    nav: Nav<'a>,
    view: &'a ConsoleState,
    held: Vec<HeldWrite<'a>>,
    health: &'a Report,
    /// Each binding's name and check.
    checks: [(&'static str, &'a Check); 3],
}

/// A held write, and when it is tried next.
struct HeldWrite<'a> {
    held: &'a HeldRow,
    next: String,
}

/// The state page: migration mode, the held writes, and the deep health check's results.
pub fn console_state(view: &ConsoleState, health: &Report) -> String {
    render(&StatePage {
        nav: nav(&view.links, "State"),
        view,
        held: view
            .held
            .iter()
            .map(|held| HeldWrite {
                held,
                next: held
                    .retry_at
                    .map(utc)
                    .unwrap_or_else(|| "at the next drain".into()),
            })
            .collect(),
        health,
        checks: [
            ("D1 (DB)", &health.d1),
            ("KV (KV)", &health.kv),
            ("Queue (revocations)", &health.queue),
        ],
    })
}

#[derive(Template)]
#[template(path = "console_audit.html")]
struct AuditPage<'a> {
    nav: Nav<'a>,
    view: &'a ConsoleAudit,
    filter: &'a AuditFilter,
    /// Each event kind (and "any"): the value, its label, whether the search has it.
    kinds: Vec<(&'static str, &'static str, bool)>,
    since: String,
    until: String,
    jsonl: String,
    csv: String,
    rows: Vec<EventRow<'a>>,
    /// The next page's link.
    older: Option<String>,
}

/// An audit event and when it happened.
struct EventRow<'a> {
    event: &'a AuditRow,
    at: String,
}

/// The audit page: the search form, export links, the events with who did what, the next page.
pub fn console_audit(view: &ConsoleAudit) -> String {
    let f = &view.filter;
    let chosen = f.kind.map(AuditKind::as_str).unwrap_or_default();
    let base = f.query();
    let sep = if base.is_empty() { "" } else { "&" };
    render(&AuditPage {
        nav: nav(&view.links, "Audit"),
        view,
        filter: f,
        kinds: std::iter::once(("", "any event"))
            .chain(AuditKind::ALL.into_iter().map(|k| (k.as_str(), k.as_str())))
            .map(|(value, label)| (value, label, value == chosen))
            .collect(),
        since: f.since.map(|s| s.to_string()).unwrap_or_default(),
        until: f.until.map(|u| u.to_string()).unwrap_or_default(),
        jsonl: format!("{}?{base}{sep}format=jsonl", view.list_action),
        csv: format!("{}?{base}{sep}format=csv", view.list_action),
        rows: view
            .events
            .iter()
            .map(|event| EventRow {
                event,
                at: utc(event.at),
            })
            .collect(),
        older: view
            .older
            .as_deref()
            .map(|q| format!("{}?{q}", view.list_action)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::admin::console::GrantsFilter;

    fn links() -> ConsoleLinks {
        ConsoleLinks {
            grants: "/g".into(),
            agents: "/a".into(),
            people: "/p".into(),
            audit: "/au".into(),
            state: "/s".into(),
        }
    }

    #[test]
    fn audit_events_name_the_person_and_the_agent_and_render_inert() {
        let view = ConsoleAudit {
            admin: "ops@example.com".into(),
            filter: gatehouse_core::admin::audit::AuditFilter {
                subject: Some(HOSTILE.into()),
                ..Default::default()
            },
            events: vec![gatehouse_core::admin::audit::AuditRow {
                id: 7,
                at: 1_800_000_000,
                kind: "token_issued".into(),
                subject: Some("local:alice@example.com".into()),
                client_id: Some("c_1".into()),
                grant_id: Some("g_1".into()),
                by: None,
                source: None,
                detail: format!("{{\"scope\":\"{HOSTILE}\"}}"),
            }],
            older: Some("before=1800000000.7".into()),
            list_action: "/au".into(),
            links: links(),
        };
        let page = console_audit(&view);
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("for <code>local:alice@example.com</code> by agent <code>c_1</code>"),
            "{page}"
        );
        assert!(page.contains("href=\"/au?before=1800000000.7\""), "{page}");
        assert!(page.contains("format=csv"));
    }

    #[test]
    fn the_state_page_shows_migration_mode_and_held_writes_escaped() {
        let view = ConsoleState {
            admin: "ops@example.com".into(),
            migration: Some((30, 300)),
            held: vec![gatehouse_core::admin::state::HeldRow {
                kind: "end_sessions_of".into(),
                write: format!("{{\"subject\":\"{HOSTILE}\"}}"),
                failures: 2,
                last_error: Some(HOSTILE.into()),
                retry_at: Some(1_800_000_000),
            }],
            held_bound_reached: false,
            health_check: "/healthz".into(),
            links: links(),
        };
        let report = Report::new(
            gatehouse_core::health::Plan { kv_write: true },
            Check::passed("schema at migration 0007"),
            Check::failed(HOSTILE),
            Check::passed("bound"),
        );
        let page = console_state(&view, &report);
        assert!(page.contains("<strong>KV (KV)</strong>: failing"), "{page}");
        assert!(page.contains("A binding is failing"));
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("Migration mode is on."));
        assert!(page.contains("failed 2 time(s)"));
        assert!(page.contains("next try 2027-01-15 08:00 UTC"));
        assert!(page.contains("<strong>State</strong>"));
    }

    #[test]
    fn every_page_links_to_the_others() {
        let page = console_grants(&view(), "t");
        assert!(
            page.contains(
                "<strong>Grants</strong> · <a href=\"/a\">Agents</a> · <a href=\"/p\">People</a>"
            ),
            "{page}"
        );
    }

    const HOSTILE: &str = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";

    fn view() -> ConsoleGrants {
        ConsoleGrants {
            admin: "ops@example.com".into(),
            app_name: "Wiki".into(),
            filter: GrantsFilter {
                person: Some(HOSTILE.into()),
                ..GrantsFilter::default()
            },
            grants: vec![
                ConsoleGrant {
                    grant_id: "g_live".into(),
                    subject: format!("local:{HOSTILE}"),
                    email: HOSTILE.into(),
                    client_id: "c_1".into(),
                    app: "https://wiki.test".into(),
                    scopes: vec![HOSTILE.into(), "read".into()],
                    created_at: 1_800_000_000,
                    revoked_at: None,
                    revoked_reason: None,
                },
                ConsoleGrant {
                    grant_id: "g_gone".into(),
                    subject: "local:bob@example.com".into(),
                    email: "bob@example.com".into(),
                    client_id: "c_2".into(),
                    app: "https://wiki.test".into(),
                    scopes: vec!["read".into()],
                    created_at: 1_800_000_000,
                    revoked_at: Some(1_800_000_060),
                    revoked_reason: Some(gatehouse_core::store::RevocationReason::AdminRequest),
                },
            ],
            truncated: false,
            revoked: Some(2),
            list_action: "/.gatehouse/admin/console/grants".into(),
            revoke_action: "/.gatehouse/admin/console/grants/revoke".into(),
            links: links(),
        }
    }

    #[test]
    fn hostile_values_render_inert() {
        let page = console_grants(&view(), "t0k");
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
        // In an attribute (the filter field's value) quotes are escaped too.
        assert!(!page.contains("value=\"<script>"), "{page}");
        assert!(!page.contains("\"'><img"), "{page}");
    }

    #[test]
    fn every_form_that_changes_something_carries_the_csrf_token() {
        let page = console_grants(&view(), "t0k");
        let posts = page.matches("method=\"post\"").count();
        assert_eq!(
            posts, 2,
            "one revoke form for the live grant, one for many: {page}"
        );
        assert_eq!(
            page.matches("name=\"csrf_token\" value=\"t0k\"").count(),
            posts
        );
    }

    #[test]
    fn only_live_grants_can_be_checked_and_revoked() {
        let page = console_grants(&view(), "t");
        assert!(page.contains("form=\"revoke-many\" name=\"grant_id\" value=\"g_live\""));
        assert!(!page.contains("value=\"g_gone\""), "{page}");
        assert!(
            page.contains("revoked 2027-01-15 08:01 UTC (admin_request)"),
            "{page}"
        );
        assert!(page.contains("Revoked 2 grants."));
        assert!(page.contains(
            "Revoking ends the agent's access at once: its access and refresh tokens stop \
             working at every gate, and the person would have to approve it again. It cannot be \
             undone."
        ));
    }

    fn clients() -> ConsoleClients {
        let client = ClientUse {
            client_id: "c_1".into(),
            client_name: Some(HOSTILE.into()),
            source: "metadata_document".into(),
            created_at: 1_800_000_000,
            last_used_at: None,
            disabled_at: None,
            people: 3,
            live_grants: 4,
        };
        ConsoleClients {
            admin: "ops@example.com".into(),
            clients: vec![client.clone()],
            truncated: false,
            confirmation: Some(Confirmation {
                action: ClientAction::Disable,
                client,
                post_to: "/.gatehouse/admin/console/clients/disable".into(),
            }),
            done: None,
            revoked: None,
            list_action: "/.gatehouse/admin/console/clients".into(),
            links: links(),
        }
    }

    #[test]
    fn a_hostile_client_name_renders_inert_on_the_agents_page() {
        let page = console_clients(&clients(), "t0k");
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );
    }

    #[test]
    fn disabling_says_what_it_revokes_before_the_csrf_protected_form() {
        let page = console_clients(&clients(), "t0k");
        let said = page
            .find("Its 4 live grant(s), held by 3 person(s), are revoked now")
            .unwrap();
        let form = page.find("method=\"post\"").unwrap();
        assert!(said < form, "{page}");
        assert!(page.contains("name=\"csrf_token\" value=\"t0k\""));
        assert!(page.contains("name=\"client_id\" value=\"c_1\""));
        assert!(page.contains("identified by its metadata document"));
        assert!(
            page.contains("?confirm=disable&amp;client_id=c_1"),
            "{page}"
        );
        let mut listed = clients();
        listed.confirmation = None;
        assert!(
            !console_clients(&listed, "t").contains("method=\"post\""),
            "no change without a confirmation"
        );
    }

    #[test]
    fn cutting_a_person_off_is_confirmed_with_its_consequences_and_the_csrf_token() {
        let person = gatehouse_core::store::PersonUse {
            subject: format!("local:{HOSTILE}"),
            email: HOSTILE.into(),
            sessions: 2,
            last_seen_at: None,
            live_grants: 5,
        };
        let view = ConsolePeople {
            admin: "ops@example.com".into(),
            people: vec![person.clone()],
            truncated: false,
            confirmation: Some(person),
            revoked: None,
            list_action: "/p".into(),
            revoke_action: "/p/revoke".into(),
            links: links(),
        };
        let page = console_people(&view, "t0k");
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("Their 2 open session(s) end now"), "{page}");
        assert!(
            page.contains("their 5 live grant(s), at every app, are revoked"),
            "{page}"
        );
        assert!(page.contains("name=\"csrf_token\" value=\"t0k\""));
        assert!(page.contains("last seen never"));
    }

    #[test]
    fn the_revoke_forms_return_to_the_same_filter() {
        let page = console_grants(&view(), "t");
        let mut back = String::new();
        askama::filters::Escaper::write_escaped_str(
            &super::super::template::Html,
            &mut back,
            &view().filter.query(),
        )
        .unwrap();
        assert!(
            page.contains(&format!("name=\"return\" value=\"{back}\"")),
            "{page}"
        );
    }
}
