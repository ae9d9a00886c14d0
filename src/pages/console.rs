//! The admin console's pages. The people page: sessions and agents per person, and a
//! confirmation before cutting one off. The agents page: each client's use, and a confirmation that
//! spells out a disable or enable before its form. The grants page: a filter form (`GET`), one revoke form per grant, and a
//! revoke-many form whose checkboxes sit in the rows (`form=` attribute, since forms cannot
//! nest). Laid out as a list, not a table, so it reads at 390 px.

use gatehouse_core::admin::audit::ConsoleAudit;
use gatehouse_core::admin::clients::{ClientAction, Confirmation, ConsoleClients};
use gatehouse_core::admin::console::{
    ConsoleGrant, ConsoleGrants, ConsoleLinks, GRANT_FIELD, GrantState, RETURN_FIELD,
};
use gatehouse_core::admin::people::ConsolePeople;
use gatehouse_core::admin::state::ConsoleState;
use gatehouse_core::csrf;
use gatehouse_core::health::{Check, Report};
use gatehouse_core::model::audit::AuditKind;
use gatehouse_core::store::ClientUse;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::agents::utc;
use super::{document, hidden};

/// The links to the console's pages, the current one as plain text.
fn nav(links: &ConsoleLinks, current: &str) -> String {
    let items: Vec<String> = [
        ("Grants", &links.grants),
        ("Agents", &links.agents),
        ("People", &links.people),
        ("Audit", &links.audit),
        ("State", &links.state),
    ]
    .into_iter()
    .map(|(label, href)| {
        if label == current {
            format!("<strong>{label}</strong>")
        } else {
            format!("<a href=\"{}\">{label}</a>", attr(href))
        }
    })
    .collect();
    format!(
        "<p class=\"small\">Admin console: {}</p>",
        items.join(" · ")
    )
}

/// The `id` of the revoke-many form, named by each row's checkbox.
const MANY_FORM: &str = "revoke-many";

/// What revoking does, said before the button is pressed.
const CONSEQUENCES: &str = "Revoking ends the agent's access at once: its access and refresh \
     tokens stop working at every gate, and the person would have to approve it again. It \
     cannot be undone.";

/// The grants page for `view`, its forms carrying `csrf_token`.
pub fn console_grants(view: &ConsoleGrants, csrf_token: &str) -> String {
    let filter = &view.filter;
    let field = |name: &str, label: &str, value: &Option<String>| {
        format!(
            "<label for=\"{name}\">{label}</label><input type=\"text\" id=\"{name}\" name=\"{name}\" value=\"{}\">",
            attr(value.as_deref().unwrap_or_default())
        )
    };
    let option = |value: &str, label: &str, selected: bool| {
        let selected = if selected { " selected" } else { "" };
        format!("<option value=\"{value}\"{selected}>{label}</option>")
    };
    let states: String = GrantState::ALL
        .into_iter()
        .map(|s| option(s.as_str(), s.as_str(), s == filter.state))
        .collect();
    let filter_form = format!(
        "<form method=\"get\" action=\"{action}\">{person}{client}{scope}\
         <label for=\"app\">App</label><select id=\"app\" name=\"app\">{this}{all}</select>\
         <label for=\"state\">State</label><select id=\"state\" name=\"state\">{states}</select>\
         <button type=\"submit\">Filter</button></form>",
        action = attr(&view.list_action),
        person = field("person", "Person (email or subject)", &filter.person),
        client = field("client_id", "Client id", &filter.client_id),
        scope = field("scope", "Scope", &filter.scope),
        this = option(
            "this",
            &format!("{} only", text(&view.app_name)),
            !filter.all_apps
        ),
        all = option("all", "every app", filter.all_apps),
    );
    let csrf_field = hidden(csrf::FIELD, csrf_token);
    let rows: String = view
        .grants
        .iter()
        .map(|grant| row(view, grant, &csrf_field))
        .collect();
    let live = view
        .grants
        .iter()
        .filter(|g| g.revoked_at.is_none())
        .count();
    let list = if rows.is_empty() {
        "<p>No grant matches this filter.</p>".to_owned()
    } else {
        let many = if live == 0 {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"{action}\" id=\"{MANY_FORM}\">{csrf_field}{back}\
                 <p class=\"warn\">{CONSEQUENCES}</p>\
                 <button type=\"submit\">Revoke the checked grants</button></form>",
                action = attr(&view.revoke_action),
                back = hidden(RETURN_FIELD, &filter.query()),
            )
        };
        format!("<ul>{rows}</ul>{many}")
    };
    let notice = match view.revoked {
        Some(1) => "<p class=\"warn\">Revoked 1 grant.</p>".to_owned(),
        Some(n) => format!("<p class=\"warn\">Revoked {n} grants.</p>"),
        None => String::new(),
    };
    let truncated = if view.truncated {
        "<p class=\"warn\">Only the newest 500 grants of this person, client and app were \
         searched: name a person or a client to see older ones.</p>"
    } else {
        ""
    };
    let body = format!(
        "{nav}<h1>Grants at {app}</h1><p class=\"small\">Admin console · signed in as {admin}. \
         {count} grant(s) shown, {live} live.</p>{notice}{filter_form}{truncated}{list}",
        nav = nav(&view.links, "Grants"),
        app = text(&view.app_name),
        admin = text(&view.admin),
        count = view.grants.len(),
    );
    document("Grants · admin console", &body)
}

/// One grant: who, which agent, where, what; a checkbox and a revoke button while it is live.
fn row(view: &ConsoleGrants, grant: &ConsoleGrant, csrf_field: &str) -> String {
    let scopes = grant
        .scopes
        .iter()
        .map(|scope| format!("<code>{}</code>", text(scope)))
        .collect::<Vec<_>>()
        .join(" ");
    let app = if view.filter.all_apps {
        format!(" at <code>{}</code>", text(&grant.app))
    } else {
        String::new()
    };
    let id = attr(&grant.grant_id);
    let (check, state, revoke) = match grant.revoked_at {
        None => (
            format!(
                "<input type=\"checkbox\" form=\"{MANY_FORM}\" name=\"{GRANT_FIELD}\" value=\"{id}\" \
                 id=\"g-{id}\" aria-label=\"select this grant\"> "
            ),
            "live".to_owned(),
            format!(
                "<form method=\"post\" action=\"{action}\">{csrf_field}{grant_field}{back}\
                 <button type=\"submit\">Revoke</button></form>",
                action = attr(&view.revoke_action),
                grant_field = hidden(GRANT_FIELD, &grant.grant_id),
                back = hidden(RETURN_FIELD, &view.filter.query()),
            ),
        ),
        Some(at) => {
            let why = grant
                .revoked_reason
                .and_then(|r| serde_json::to_value(r).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (
                String::new(),
                format!("revoked {} ({})", utc(at), text(&why)),
                String::new(),
            )
        }
    };
    format!(
        "<li>{check}<strong class=\"name\">{email}</strong> <span class=\"small\"><code>{subject}</code></span><br>\
         agent <code>{client}</code>{app}; may <span class=\"scopes\">{scopes}</span><br>\
         <span class=\"small\">grant <code>{grant_id}</code>, approved {created}, {state}</span>{revoke}</li>",
        email = text(&grant.email),
        subject = text(&grant.subject),
        client = text(&grant.client_id),
        grant_id = text(&grant.grant_id),
        created = utc(grant.created_at),
    )
}

/// The agents (clients) page for `view`; a confirmation's form carries `csrf_token`.
pub fn console_clients(view: &ConsoleClients, csrf_token: &str) -> String {
    let notice = match (view.done.as_deref(), view.revoked) {
        (Some("disabled"), n) => format!(
            "<p class=\"warn\">Disabled; {} grant(s) revoked.</p>",
            n.unwrap_or_default()
        ),
        (Some("enabled"), _) => "<p class=\"warn\">Enabled.</p>".to_owned(),
        _ => String::new(),
    };
    let confirmation = view
        .confirmation
        .as_ref()
        .map(|c| confirm(view, c, csrf_token))
        .unwrap_or_default();
    let rows: String = view.clients.iter().map(|c| client_row(view, c)).collect();
    let list = if rows.is_empty() {
        "<p>No agent is known yet.</p>".to_owned()
    } else {
        format!("<ul>{rows}</ul>")
    };
    let truncated = if view.truncated {
        "<p class=\"warn\">Only the 500 most recently used agents are listed.</p>"
    } else {
        ""
    };
    let body = format!(
        "{nav}<h1>Agents</h1><p class=\"small\">Admin console · signed in as {admin}. Every client \
         gatehouse knows, registered or identified by a metadata document, at every app.</p>\
         {notice}{confirmation}{truncated}{list}",
        nav = nav(&view.links, "Agents"),
        admin = text(&view.admin),
    );
    document("Agents · admin console", &body)
}

/// What a client is called on the page: its name, or its id.
fn client_label(client: &ClientUse) -> &str {
    client.client_name.as_deref().unwrap_or(&client.client_id)
}

/// The confirmation of a change: what it does, in numbers, then the form that does it.
fn confirm(view: &ConsoleClients, c: &Confirmation, csrf_token: &str) -> String {
    let name = text(client_label(&c.client));
    let (question, consequences, button) = match c.action {
        ClientAction::Disable => (
            format!("Disable {name}?"),
            format!(
                "It can no longer authenticate, authorize or refresh at any app. Its \
                 {grants} live grant(s), held by {people} person(s), are revoked now at every \
                 app, and their tokens stop working at the gates. Enabling it again later does \
                 not bring them back: each person would have to approve it again.",
                grants = c.client.live_grants,
                people = c.client.people,
            ),
            format!("Disable {name}"),
        ),
        ClientAction::Enable => (
            format!("Enable {name}?"),
            "It can authenticate and ask people for access again. The grants revoked when it \
             was disabled stay revoked: each person decides again on the consent page."
                .to_owned(),
            format!("Enable {name}"),
        ),
    };
    format!(
        "<div class=\"warn name\"><p><strong>{question}</strong> <span class=\"small\">client id \
         <code>{id}</code></span></p><p>{consequences}</p>\
         <form method=\"post\" action=\"{action}\">{client}{csrf}\
         <button type=\"submit\">{button}</button> <a href=\"{cancel}\">Cancel</a></form></div>",
        id = text(&c.client.client_id),
        action = attr(&c.post_to),
        client = hidden("client_id", &c.client.client_id),
        csrf = hidden(csrf::FIELD, csrf_token),
        cancel = attr(&view.list_action),
    )
}

/// One client: name, id, how it is known, its use, and the link to change it.
fn client_row(view: &ConsoleClients, c: &ClientUse) -> String {
    let known = match c.source.as_str() {
        "metadata_document" => "identified by its metadata document",
        "static" => "added by the operator",
        _ => "registered (RFC 7591)",
    };
    let last_used = c.last_used_at.map(utc).unwrap_or_else(|| "never".into());
    let (state, action) = match c.disabled_at {
        None => ("", ClientAction::Disable),
        Some(_) => (" <strong>disabled</strong>", ClientAction::Enable),
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("confirm", action.as_str())
        .append_pair("client_id", &c.client_id)
        .finish();
    let link = match action {
        ClientAction::Disable => "Disable…",
        ClientAction::Enable => "Enable…",
    };
    format!(
        "<li><strong class=\"name\">{name}</strong>{state} <span class=\"small\">client id <code>{id}</code>, \
         {known}</span><br>{people} person(s), {grants} live grant(s); last used {last_used}\
         <br><span class=\"small\">known since {created}</span> \
         <a href=\"{href}\">{link}</a></li>",
        name = text(client_label(c)),
        id = text(&c.client_id),
        people = c.people,
        grants = c.live_grants,
        created = utc(c.created_at),
        href = attr(&format!("{}?{query}", view.list_action)),
    )
}

/// The people page for `view`; a confirmation's form carries `csrf_token`.
pub fn console_people(view: &ConsolePeople, csrf_token: &str) -> String {
    let notice = view
        .revoked
        .map(|n| format!("<p class=\"warn\">Sessions ended; {n} grant(s) revoked.</p>"))
        .unwrap_or_default();
    let confirmation = view
        .confirmation
        .as_ref()
        .map(|p| {
            format!(
                "<div class=\"warn name\"><p><strong>Cut {email} off?</strong> <span \
                 class=\"small\"><code>{subject}</code></span></p><p>Their {sessions} open \
                 session(s) end now, so they are signed out everywhere, and their {grants} live \
                 grant(s), at every app, are revoked: every agent acting for them stops working \
                 at the gates. They can sign in again if the apps' policies still admit them; \
                 each agent would have to ask them again.</p>\
                 <form method=\"post\" action=\"{action}\">{subject_field}{csrf}\
                 <button type=\"submit\">Cut {email} off</button> <a href=\"{cancel}\">Cancel</a>\
                 </form></div>",
                email = text(&p.email),
                subject = text(&p.subject),
                sessions = p.sessions,
                grants = p.live_grants,
                action = attr(&view.revoke_action),
                subject_field = hidden("subject", &p.subject),
                csrf = hidden(csrf::FIELD, csrf_token),
                cancel = attr(&view.list_action),
            )
        })
        .unwrap_or_default();
    let rows: String = view
        .people
        .iter()
        .map(|p| {
            let seen = p.last_seen_at.map(utc).unwrap_or_else(|| "never".into());
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("confirm", &p.subject)
                .finish();
            format!(
                "<li><strong class=\"name\">{email}</strong> <span class=\"small\"><code>{subject}\
                 </code></span><br>{sessions} open session(s), {grants} live grant(s); last seen \
                 {seen} <a href=\"{href}\">Cut off…</a></li>",
                email = text(&p.email),
                subject = text(&p.subject),
                sessions = p.sessions,
                grants = p.live_grants,
                href = attr(&format!("{}?{query}", view.list_action)),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p>Nobody has signed in yet.</p>".to_owned()
    } else {
        format!("<ul>{rows}</ul>")
    };
    let truncated = if view.truncated {
        "<p class=\"warn\">Only the 500 people seen most recently are listed.</p>"
    } else {
        ""
    };
    let body = format!(
        "{nav}<h1>People</h1><p class=\"small\">Admin console · signed in as {admin}. Who has \
         browser sessions and agents, at every app.</p>{notice}{confirmation}{truncated}{list}",
        nav = nav(&view.links, "People"),
        admin = text(&view.admin),
    );
    document("People · admin console", &body)
}

/// The deep health check's results, one line a binding.
fn health_checks(report: &Report) -> String {
    let line = |name: &str, check: &Check| {
        let (class, verdict) = if check.ok {
            ("", "ok")
        } else {
            (" class=\"error\"", "failing")
        };
        format!(
            "<li{class}><strong>{name}</strong>: {verdict}; {}</li>",
            text(&check.detail)
        )
    };
    let summary = if report.ok {
        "<p>Every binding answers.</p>"
    } else {
        "<p class=\"error\">A binding is failing: see below.</p>"
    };
    format!(
        "{summary}<ul>{}{}{}</ul>",
        line("D1 (DB)", &report.d1),
        line("KV (KV)", &report.kv),
        line("Queue (revocations)", &report.queue)
    )
}

/// The state page: migration mode, the held writes, and where the health check is.
pub fn console_state(view: &ConsoleState, health: &Report) -> String {
    let mode = match view.migration {
        Some((retry, ttl)) => format!(
            "<p class=\"warn\"><strong>Migration mode is on.</strong> Writes that can wait are \
             refused with <code>Retry-After: {retry}</code> or held below; access tokens live \
             {ttl} s.</p>"
        ),
        None => "<p>Migration mode is off: D1 takes writes.</p>".to_owned(),
    };
    let rows: String = view
        .held
        .iter()
        .map(|h| {
            let failed = match (&h.last_error, h.retry_at) {
                (Some(error), retry) => format!(
                    "<br><span class=\"small\">failed {n} time(s): {error}; next try {next}</span>",
                    n = h.failures,
                    error = text(error),
                    next = retry.map(utc).unwrap_or_else(|| "at the next drain".into()),
                ),
                (None, _) => String::new(),
            };
            format!(
                "<li><strong>{kind}</strong> <code>{write}</code>{failed}</li>",
                kind = text(&h.kind),
                write = text(&h.write),
            )
        })
        .collect();
    let held = if rows.is_empty() {
        "<p>No write is held.</p>".to_owned()
    } else {
        let more = if view.held_bound_reached {
            "<p class=\"warn\">The first 200 are listed; there may be more.</p>"
        } else {
            ""
        };
        format!(
            "<p>{} write(s) held in KV until the drain writes them to D1:</p><ul>{rows}</ul>{more}",
            view.held.len()
        )
    };
    let body = format!(
        "{nav}<h1>State</h1><p class=\"small\">Admin console · signed in as {admin}. The \
         configuration is valid (this page would not be served otherwise).</p>{mode}\
         <h2>Held writes</h2>{held}<h2>Health</h2>{checks}<p class=\"small\">The same check \
         as JSON: <a href=\"{health}\">{health_text}</a></p>",
        checks = health_checks(health),
        nav = nav(&view.links, "State"),
        admin = text(&view.admin),
        health = attr(&view.health_check),
        health_text = text(&view.health_check),
    );
    document("State · admin console", &body)
}

/// The audit page: the search form, export links, the events with who did what, the next page.
pub fn console_audit(view: &ConsoleAudit) -> String {
    let f = &view.filter;
    let field = |name: &str, label: &str, value: Option<String>| {
        format!(
            "<label for=\"{name}\">{label}</label><input type=\"text\" id=\"{name}\" name=\"{name}\" value=\"{}\">",
            attr(&value.unwrap_or_default())
        )
    };
    let kinds: String = std::iter::once(("", "any event"))
        .chain(AuditKind::ALL.into_iter().map(|k| (k.as_str(), k.as_str())))
        .map(|(value, label)| {
            let selected = if f.kind.map(AuditKind::as_str).unwrap_or_default() == value {
                " selected"
            } else {
                ""
            };
            format!("<option value=\"{value}\"{selected}>{label}</option>")
        })
        .collect();
    let form = format!(
        "<form method=\"get\" action=\"{action}\">{subject}{client}\
         <label for=\"kind\">Event</label><select id=\"kind\" name=\"kind\">{kinds}</select>\
         {since}{until}<button type=\"submit\">Search</button></form>",
        action = attr(&view.list_action),
        subject = field("subject", "Person (subject)", f.subject.clone()),
        client = field("client_id", "Client id", f.client_id.clone()),
        since = field(
            "since",
            "Since (Unix seconds)",
            f.since.map(|s| s.to_string())
        ),
        until = field(
            "until",
            "Until (Unix seconds)",
            f.until.map(|u| u.to_string())
        ),
    );
    let base = f.query();
    let sep = if base.is_empty() { "" } else { "&" };
    let exports = format!(
        "<p class=\"small\">Export this search (newest 500): <a href=\"{jsonl}\">JSON lines</a> · \
         <a href=\"{csv}\">CSV</a></p>",
        jsonl = attr(&format!("{}?{base}{sep}format=jsonl", view.list_action)),
        csv = attr(&format!("{}?{base}{sep}format=csv", view.list_action)),
    );
    let rows: String = view
        .events
        .iter()
        .map(|e| {
            let who = match (&e.subject, &e.client_id) {
                (Some(s), Some(c)) => format!(
                    "for <code>{}</code> by agent <code>{}</code>",
                    text(s),
                    text(c)
                ),
                (Some(s), None) => format!("person <code>{}</code>", text(s)),
                (None, Some(c)) => format!("agent <code>{}</code>", text(c)),
                (None, None) => String::new(),
            };
            let by =
                e.by.as_deref()
                    .map(|b| format!(" by admin <strong class=\"name\">{}</strong>", text(b)))
                    .unwrap_or_default();
            format!(
                "<li><strong>{kind}</strong> {who}{by}<br><span class=\"small\">{at}{source}; \
                 <code>{detail}</code></span></li>",
                kind = text(&e.kind),
                at = utc(e.at),
                source = e
                    .source
                    .as_deref()
                    .map(|s| format!(" from {}", text(s)))
                    .unwrap_or_default(),
                detail = text(&e.detail),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p>No event matches this search.</p>".to_owned()
    } else {
        format!("<ul>{rows}</ul>")
    };
    let older = view
        .older
        .as_deref()
        .map(|q| {
            format!(
                "<p><a href=\"{}\">Older events</a></p>",
                attr(&format!("{}?{q}", view.list_action))
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{nav}<h1>Audit log</h1><p class=\"small\">Admin console · signed in as {admin}. This \
         app's events, newest first, 50 to a page.</p>{form}{exports}{list}{older}",
        nav = nav(&view.links, "Audit"),
        admin = text(&view.admin),
    );
    document("Audit · admin console", &body)
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
        assert!(page.contains(CONSEQUENCES));
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
        let back = attr(&view().filter.query()).into_owned();
        assert!(
            page.contains(&format!("name=\"return\" value=\"{back}\"")),
            "{page}"
        );
    }
}
