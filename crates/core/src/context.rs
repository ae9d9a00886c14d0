//! What a feature works with for one request: the app served, the store (through migration
//! mode's [`MigrationStore`]), the signer, randomness, the request's time, where it came from,
//! and the few deployment settings every feature reads (the server secret, identifier keys, the
//! client lookup rules). Features take a `&Context` and return their outcome; settings only one
//! feature needs (login methods, administrators, OIDC providers) are passed to it by
//! [`crate::server`], which builds the context and only dispatches.
//!
//! Not here: any endpoint. A context has no behaviour beyond recording audit events about its
//! request.

use crate::cimd::ClientLookup;
use crate::config::ServerSecret;
use crate::decision::DecisionLog;
use crate::grant_id::GrantId;
use crate::identifiers::IdentifierKeys;
use crate::migration::MigrationStore;
use crate::model::audit::{AuditEvent, AuditKind};
use crate::rng::Rng;
use crate::session_cookie::SessionCookieKey;
use crate::site::Site;
use crate::store::{Store, StoreError};
use crate::time::UnixTime;
use crate::types::ClientId;

/// One request's context.
pub struct Context<'a, S, K, R> {
    /// The issuer and app served where the request arrived.
    pub site: Site<'a>,
    /// Storage, as migration mode lets features write it.
    pub store: MigrationStore<'a, S>,
    /// Token signing keys.
    pub signer: &'a K,
    /// Randomness.
    pub rng: &'a R,
    /// The request's time, read once.
    pub now: UnixTime,
    /// Where the request came from (`CF-Connecting-IP`), for the audit log.
    pub source: Option<String>,
    /// What was decided about this request, for its log line ([`crate::decision`]).
    pub decision: DecisionLog,
    /// The server secret, which keys are derived from.
    pub secret: &'a ServerSecret,
    /// The keys that tag gatehouse's identifiers ([`crate::identifiers`]).
    pub identifiers: &'a IdentifierKeys,
    /// How clients are looked up besides storage.
    pub lookup: ClientLookup<'a>,
}

impl<S: Store, K, R: Rng> Context<'_, S, K, R> {
    /// An audit event about this app, from where this request came; noted in the decision log.
    pub fn audit_event(
        &self,
        kind: AuditKind,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
        grant_id: Option<&GrantId>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        self.decision.audit(
            kind,
            subject,
            client_id.map(ClientId::as_str),
            grant_id.map(GrantId::as_str),
        );
        AuditEvent {
            kind,
            subject: subject.map(str::to_owned),
            client_id: client_id.map(|c| c.as_str().to_owned()),
            app: Some(self.site.resource.clone()),
            grant_id: grant_id.map(|g| g.as_str().to_owned()),
            source: self.source.clone(),
            detail,
        }
    }

    /// Appends an audit event about this app (held while migration mode is on).
    pub async fn audit(
        &self,
        kind: AuditKind,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
        grant_id: Option<&GrantId>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let event = self.audit_event(kind, subject, client_id, grant_id, detail);
        self.store.record(&event, self.rng, self.now).await
    }
}

impl<S, K, R> Context<'_, S, K, R> {
    /// The key that tags this deployment's session cookies.
    pub fn session_cookie_key(&self) -> SessionCookieKey {
        SessionCookieKey::derive(self.secret)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every source file of this crate, as (path under `src/`, text).
    fn sources() -> Vec<(String, String)> {
        fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, into);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    into.push(path);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = Vec::new();
        walk(&root, &mut paths);
        paths
            .into_iter()
            .map(|p| {
                let name = p.strip_prefix(&root).unwrap().display().to_string();
                (name, std::fs::read_to_string(&p).unwrap())
            })
            .collect()
    }

    /// Whether `text` names the module `path` itself (`crate::server`, not `crate::server_secret`).
    fn names_module(text: &str, path: &str) -> bool {
        text.match_indices(path).any(|(at, _)| {
            !text[at + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        })
    }

    #[test]
    fn no_feature_reaches_back_into_the_server() {
        for (name, text) in sources() {
            if name == "server.rs" || name == "lib.rs" {
                continue;
            }
            // Spelled in pieces, so that this test does not find itself.
            let (module, server) = (["crate", "::server"].concat(), ["Ser", "ver<"].concat());
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            for line in code {
                assert!(
                    !names_module(line, &module) && !line.contains(&server),
                    "{name} depends on the server: {line}"
                );
            }
        }
    }

    #[test]
    fn the_decision_log_sits_below_the_server_and_the_configuration() {
        let decision = sources()
            .into_iter()
            .find(|(name, _)| name == "decision.rs")
            .unwrap()
            .1;
        for above in ["server", "config"] {
            let path = ["crate::", above].concat();
            assert!(!names_module(&decision, &path), "decision.rs names {path}");
        }
    }

    #[test]
    fn only_the_migration_store_reads_the_migration_switch() {
        // The dispatcher builds the wrapper; the health plan reports whether KV writes are
        // tested; configuration parses the switch. No feature reads it.
        let allowed = [
            "server.rs",
            "migration.rs",
            "health.rs",
            "testing.rs",
            "config.rs",
        ];
        for (name, text) in sources() {
            if allowed.contains(&name.as_str()) || name.starts_with("config") {
                continue;
            }
            let (field, method) = (
                ["config", ".migration"].concat(),
                [".migration", "()"].concat(),
            );
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                assert!(
                    !line.contains(&field) && !line.contains(&method),
                    "{name} reads the migration switch: {line}"
                );
            }
        }
    }
}
