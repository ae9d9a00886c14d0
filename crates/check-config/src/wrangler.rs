//! What `gatehouse-check-config` reads from wrangler.toml: the variables, the bindings gatehouse
//! needs, and the routes, for the top level or one `[env.NAME]`.
//!
//! Wrangler's rule for environments (its configuration docs, "Environments"): `vars`, bindings
//! and `routes` are not inherited from the top level by `[env.NAME]`; `triggers` are.

use std::collections::BTreeMap;

use toml::{Table, Value};

/// The parts of a wrangler.toml gatehouse depends on.
pub struct Wrangler {
    /// `[vars]`, each as the text the Worker reads (JSON text for arrays, tables and numbers).
    pub vars: BTreeMap<String, String>,
    /// `[[d1_databases]]`: binding → `database_id`.
    pub d1: BTreeMap<String, String>,
    /// `[[kv_namespaces]]`: binding → `id`.
    pub kv: BTreeMap<String, String>,
    /// `[[queues.producers]]`: binding → queue.
    pub producers: BTreeMap<String, String>,
    /// `[[queues.consumers]]`: queue → its dead-letter queue, if any.
    pub consumers: BTreeMap<String, Option<String>>,
    /// `[[services]]`: the service bindings' names.
    pub services: Vec<String>,
    /// `[triggers] crons`.
    pub crons: Vec<String>,
    /// The hosts `route`/`routes` send to this Worker (patterns, with `*.` wildcards).
    pub route_hosts: Vec<String>,
}

impl Wrangler {
    /// Parses wrangler.toml's text, for the top level or `[env.<env>]`.
    pub fn parse(text: &str, env: Option<&str>) -> Result<Self, String> {
        let top: Table = text
            .parse()
            .map_err(|e| format!("it is not valid TOML: {e}"))?;
        let scope = match env {
            None => &top,
            Some(name) => top
                .get("env")
                .and_then(|e| e.get(name))
                .and_then(Value::as_table)
                .ok_or_else(|| format!("it has no [env.{name}]"))?,
        };
        let vars = scope
            .get("vars")
            .and_then(Value::as_table)
            .map(|vars| {
                vars.iter()
                    .map(|(name, value)| (name.clone(), setting_text(value)))
                    .collect()
            })
            .unwrap_or_default();
        let queues = scope.get("queues");
        let triggers = scope.get("triggers").or_else(|| top.get("triggers"));
        Ok(Self {
            vars,
            d1: pairs(scope.get("d1_databases"), "binding", "database_id"),
            kv: pairs(scope.get("kv_namespaces"), "binding", "id"),
            producers: pairs(queues.and_then(|q| q.get("producers")), "binding", "queue"),
            consumers: tables(queues.and_then(|q| q.get("consumers")))
                .filter_map(|c| {
                    let queue = c.get("queue")?.as_str()?.to_owned();
                    let dlq = c
                        .get("dead_letter_queue")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    Some((queue, dlq))
                })
                .collect(),
            services: pairs(scope.get("services"), "binding", "service")
                .into_keys()
                .collect(),
            crons: triggers
                .and_then(|t| t.get("crons"))
                .and_then(Value::as_array)
                .map(|crons| {
                    crons
                        .iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            route_hosts: route_hosts(scope),
        })
    }
}

/// A `[vars]` value as the Worker sees it: strings as they are, anything else as JSON (wrangler
/// passes non-string vars to the Worker as JSON values; gatehouse reads them back as JSON text).
fn setting_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn tables(value: Option<&Value>) -> impl Iterator<Item = &Table> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_table)
}

fn pairs(value: Option<&Value>, key: &str, field: &str) -> BTreeMap<String, String> {
    tables(value)
        .filter_map(|t| {
            let k = t.get(key)?.as_str()?.to_owned();
            let v = t.get(field).and_then(Value::as_str).unwrap_or_default();
            Some((k, v.to_owned()))
        })
        .collect()
}

/// The hosts of `route = "…"` and `routes = ["…", { pattern = "…" }]`: a pattern is
/// `host[/path]` with an optional scheme and `*` wildcards.
fn route_hosts(scope: &Table) -> Vec<String> {
    let patterns = scope.get("route").into_iter().chain(
        scope
            .get("routes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    patterns
        .filter_map(|p| match p {
            Value::String(s) => Some(s.as_str()),
            Value::Table(t) => t.get("pattern").and_then(Value::as_str),
            _ => None,
        })
        .map(|pattern| {
            let rest = pattern.split_once("://").map_or(pattern, |(_, r)| r);
            rest.split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect()
}

/// Whether a route's host pattern (`wiki.example.com`, `*.example.com`, `*example.com`) sends
/// `host` (`name[:port]`) to this Worker.
pub fn route_covers(pattern: &str, host: &str) -> bool {
    let name = host.split(':').next().unwrap_or_default();
    match pattern.strip_prefix('*') {
        Some(suffix) => name.ends_with(suffix),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

/// Whether a resource id looks like one Cloudflare issued: hex digits (a D1 id is a UUID, a KV
/// id 32 hex digits), not the all-zero placeholder the shipped wrangler.toml carries, nor an
/// example's `REPLACE-…` text. The shipped D1 placeholder is the zero UUID with only its
/// version and variant digits set, so an id with at most two non-zero digits is a placeholder.
pub fn is_real_id(id: &str) -> bool {
    let hex: Vec<char> = id.chars().filter(|c| *c != '-').collect();
    hex.len() == 32
        && hex.iter().all(char::is_ascii_hexdigit)
        && hex.iter().filter(|c| **c != '0').count() > 2
}

/// Reads a `.dev.vars` file (dotenv syntax, as wrangler reads it): `NAME=value`, the value
/// optionally in single quotes (taken literally) or double quotes (`\n` escapes); `#` comments.
pub fn parse_vars_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let unquoted =
                if let Some(v) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                    v.to_owned()
                } else if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    v.replace("\\n", "\n")
                } else {
                    value
                        .split(" #")
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned()
                };
            (name.trim().to_owned(), unquoted)
        })
        .collect()
}
