//! The admin console's audit page: the app's events searched by person, client, event kind and
//! time range, newest first, a page at a time (a keyset cursor, so each page is one bounded,
//! indexed query), each agent action attributed to the person and the agent; and the same
//! search exported as JSON lines or CSV.

use serde::Serialize;

use super::{Admins, console_admin};
use crate::admin::console::ConsoleLinks;
use crate::admin::{AdminCredentials, MAX_AUDIT_EVENTS};
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::model::audit::{AuditKind, AuditQuery, StoredEvent};
use crate::paths;
use crate::rng::Rng;
use crate::store::Store;
use crate::time::UnixTime;

/// Events on one page.
pub const AUDIT_PAGE: u32 = 50;

/// The audit search, parsed from the page's query string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditFilter {
    /// A person's subject.
    pub subject: Option<String>,
    /// A client id.
    pub client_id: Option<String>,
    /// An event kind.
    pub kind: Option<AuditKind>,
    /// Not before (Unix seconds).
    pub since: Option<u64>,
    /// Not after (Unix seconds).
    pub until: Option<u64>,
    /// After this event (`before=<at>.<id>`): the next page.
    pub before: Option<(u64, u64)>,
}

impl AuditFilter {
    /// Parses `subject`, `client_id`, `kind`, `since`, `until` and `before`.
    pub fn parse(query: &str) -> Result<Self, Reason> {
        let form = Form::parse(query.as_bytes())?;
        let text = |name| -> Result<Option<String>, Reason> {
            Ok(form
                .get(name)?
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned))
        };
        let number = |name| -> Result<Option<u64>, Reason> {
            text(name)?
                .map(|v| v.parse::<u64>().map_err(|_| Reason::AdminBadNumber))
                .transpose()
        };
        let kind = text("kind")?
            .map(|k| AuditKind::parse(&k).ok_or(Reason::ConsoleBadFilter))
            .transpose()?;
        let before = text("before")?
            .map(|b| {
                let (at, id) = b.split_once('.').ok_or(Reason::AdminBadNumber)?;
                Ok::<_, Reason>((
                    at.parse().map_err(|_| Reason::AdminBadNumber)?,
                    id.parse().map_err(|_| Reason::AdminBadNumber)?,
                ))
            })
            .transpose()?;
        Ok(Self {
            subject: text("subject")?,
            client_id: text("client_id")?,
            kind,
            since: number("since")?,
            until: number("until")?,
            before,
        })
    }

    /// The filter as a query string (without `?`), without the page cursor.
    pub fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let since = self.since.map(|s| s.to_string());
        let until = self.until.map(|u| u.to_string());
        for (name, value) in [
            ("subject", self.subject.as_deref()),
            ("client_id", self.client_id.as_deref()),
            ("kind", self.kind.map(AuditKind::as_str)),
            ("since", since.as_deref()),
            ("until", until.as_deref()),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

/// One event as the page lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    /// `audit_events.id`.
    pub id: u64,
    /// Unix seconds.
    pub at: u64,
    /// What happened.
    pub kind: String,
    /// The person it was done for or by.
    pub subject: Option<String>,
    /// The agent that did it.
    pub client_id: Option<String>,
    /// The grant.
    pub grant_id: Option<String>,
    /// The admin, for an `admin_action`.
    pub by: Option<String>,
    /// Where the request came from.
    pub source: Option<String>,
    /// The rest, as compact JSON.
    pub detail: String,
}

impl From<StoredEvent> for AuditRow {
    fn from(stored: StoredEvent) -> Self {
        let event = stored.event;
        Self {
            id: stored.id,
            at: stored.at.0,
            kind: event.kind.as_str().to_owned(),
            by: event
                .detail
                .get("by")
                .and_then(|b| b.as_str())
                .map(str::to_owned),
            subject: event.subject,
            client_id: event.client_id,
            grant_id: event.grant_id,
            source: event.source,
            detail: event.detail.to_string(),
        }
    }
}

/// Everything the audit page shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsoleAudit {
    /// Who is looking.
    pub admin: String,
    /// The search.
    pub filter: AuditFilter,
    /// The events, newest first.
    pub events: Vec<AuditRow>,
    /// The next (older) page's query string, when there may be one.
    pub older: Option<String>,
    /// This page (`GET`; `format=jsonl` or `format=csv` exports).
    pub list_action: String,
    /// The console's pages.
    pub links: ConsoleLinks,
}

/// An export of the search: its media type, file name and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditExport {
    /// `application/jsonl` or `text/csv`.
    pub content_type: &'static str,
    /// The download's file name.
    pub filename: &'static str,
    /// The events.
    pub body: String,
}

/// A CSV field (RFC 4180 §2): quoted, quotes doubled; a field a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, carriage return first) gets a leading `'`.
fn csv_field(value: &str) -> String {
    let inert = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", inert.replace('"', "\"\""))
}

impl AuditExport {
    fn build(format: &str, rows: &[AuditRow]) -> Result<Self, Reason> {
        match format {
            "jsonl" => Ok(Self {
                content_type: "application/jsonl; charset=utf-8",
                filename: "gatehouse-audit.jsonl",
                body: rows
                    .iter()
                    .filter_map(|r| serde_json::to_string(r).ok())
                    .map(|line| line + "\n")
                    .collect(),
            }),
            "csv" => {
                let mut body =
                    String::from("id,at,kind,subject,client_id,grant_id,by,source,detail\r\n");
                for r in rows {
                    let fields = [
                        r.id.to_string(),
                        r.at.to_string(),
                        r.kind.clone(),
                        r.subject.clone().unwrap_or_default(),
                        r.client_id.clone().unwrap_or_default(),
                        r.grant_id.clone().unwrap_or_default(),
                        r.by.clone().unwrap_or_default(),
                        r.source.clone().unwrap_or_default(),
                        r.detail.clone(),
                    ];
                    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                    body.push_str(&line.join(","));
                    body.push_str("\r\n");
                }
                Ok(Self {
                    content_type: "text/csv; charset=utf-8",
                    filename: "gatehouse-audit.csv",
                    body,
                })
            }
            _ => Err(Reason::ConsoleBadFilter),
        }
    }
}

/// The audit page, or an export of its search.
#[derive(Clone, Debug, PartialEq)]
pub enum AuditAnswer {
    /// The page.
    Page(Box<ConsoleAudit>),
    /// `format=jsonl` or `format=csv`: the newest [`MAX_AUDIT_EVENTS`] events of the search.
    Export(AuditExport),
}

/// `GET …/.gatehouse/admin/console/audit?subject=…&client_id=…&kind=…&since=…&until=…
/// &before=…[&format=jsonl|csv]`.
pub async fn console_audit<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
    query: &str,
) -> Result<AuditAnswer, Failure> {
    let admin = console_admin(cx, admins, credentials, None).await?;
    let filter = AuditFilter::parse(query)?;
    let format = Form::parse(query.as_bytes())?
        .get("format")?
        .map(str::to_owned);
    let limit = if format.is_some() {
        MAX_AUDIT_EVENTS
    } else {
        AUDIT_PAGE
    };
    let events = cx
        .store
        .events(&AuditQuery {
            app: &cx.site.resource,
            subject: filter.subject.as_deref(),
            client_id: filter.client_id.as_deref(),
            since: filter.since.map(UnixTime),
            until: filter.until.map(UnixTime),
            kind: filter.kind,
            before: filter.before.map(|(at, id)| (UnixTime(at), id)),
            limit,
        })
        .await?;
    let rows: Vec<AuditRow> = events.into_iter().map(AuditRow::from).collect();
    if let Some(format) = format {
        return Ok(AuditAnswer::Export(AuditExport::build(&format, &rows)?));
    }
    let older = match rows.last() {
        Some(last) if rows.len() >= AUDIT_PAGE as usize => {
            let base = filter.query();
            let sep = if base.is_empty() { "" } else { "&" };
            Some(format!("{base}{sep}before={}.{}", last.at, last.id))
        }
        _ => None,
    };
    Ok(AuditAnswer::Page(Box::new(ConsoleAudit {
        admin,
        filter,
        events: rows,
        older,
        list_action: cx.site.path(paths::ADMIN_CONSOLE_AUDIT),
        links: super::console::console_links(&cx.site),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_inert() {
        assert_eq!(csv_field("a\"b,c"), "\"a\"\"b,c\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "\"'-1\"");
        assert_eq!(csv_field("alice"), "\"alice\"");
    }

    #[test]
    fn the_filter_parses_and_keeps_its_query_without_the_cursor() {
        let filter = AuditFilter::parse(
            "subject=local%3Aa%40x&kind=grant_revoked&since=5&until=9&before=9.3",
        )
        .unwrap();
        assert_eq!(filter.kind, Some(AuditKind::GrantRevoked));
        assert_eq!(filter.before, Some((9, 3)));
        assert_eq!(
            filter.query(),
            "subject=local%3Aa%40x&kind=grant_revoked&since=5&until=9"
        );
        for bad in ["kind=nope", "since=x", "before=9", "before=a.b"] {
            assert!(AuditFilter::parse(bad).is_err(), "{bad}");
        }
    }
}
