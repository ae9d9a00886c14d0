//! `GET /healthz`: a liveness answer for anyone, and a deep check of every binding for the admin.
//!
//! Anyone may ask whether gatehouse runs, so that answer costs nothing: no storage is read or
//! written, only the configuration (parsed once per isolate) is checked. The deep check makes
//! round trips to D1 and KV and looks at the Queue binding and its backlog; it needs the admin
//! credential (`ADMIN_TOKEN`, or the session of a person `ADMINS` admits, as the admin API), so
//! that nobody else can turn it into storage load. It writes nothing in migration mode
//! ([`Plan`]), and it never sends a message on the `revocations` Queue ([`QueueCheck`]): a probe
//! there would share the revocation path, and its consumer had to write D1 to acknowledge it.
//!
//! The Worker performs the round trips; this module decides who gets which answer, what the
//! deep check may do, and what the report says, so that a half-working deployment is never
//! reported as healthy.

use serde::Serialize;

use crate::admin::AdminCredentials;
use crate::admin::{Admins, admin};
use crate::config::Config;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::jose::signer::Signer;
use crate::rng::Rng;
use crate::store::Store;

/// Which answer a `/healthz` request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Whether gatehouse runs and its configuration parses: no storage at all.
    Liveness,
    /// Round trips to the bindings; for the admin only.
    Deep,
}

/// What the deep check may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Write a probe to KV and read it back (otherwise KV is only read). Off in migration
    /// mode, which writes nothing that can wait.
    pub kv_write: bool,
}

impl Plan {
    /// The plan for the configured mode.
    pub fn for_config(config: &Config) -> Self {
        Self {
            kv_write: config.migration.is_none(),
        }
    }
}

/// The outcome of one binding's check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Whether the check completed as expected.
    pub ok: bool,
    /// What was observed, or what went wrong and how to fix it.
    pub detail: String,
}

impl Check {
    /// A check that passed.
    pub fn passed(detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            detail: detail.into(),
        }
    }

    /// A check that failed; `detail` names the binding and the fix.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            detail: detail.into(),
        }
    }
}

/// How long the oldest message on the `revocations` Queue may wait before the deep check calls
/// the consumer stuck: the longest retry delay the consumer asks for (600 s) and a margin. A
/// healthy consumer takes a message within about a second (`max_batch_timeout = 1`).
pub const QUEUE_STUCK_SECS: u64 = 900;

/// The Queue's backlog, as the runtime reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backlog {
    /// Messages waiting.
    pub messages: u64,
    /// How long the oldest has waited, if any does.
    pub oldest_age_secs: Option<u64>,
}

/// What the Worker found about the `revocations` producer binding, without sending anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueCheck {
    /// No such binding, or not a Queue.
    Unbound(String),
    /// Bound; its backlog if the runtime reports one.
    Bound(Option<Backlog>),
    /// Bound, but asking for its backlog failed.
    MetricsFailed(String),
}

impl QueueCheck {
    /// The check for the report; `name` is the binding's.
    pub fn check(&self, name: &str) -> Check {
        let bound = format!("producer binding `{name}` is bound to a Queue (no message sent)");
        match self {
            Self::Unbound(e) => Check::failed(format!(
                "Queue producer binding `{name}` is missing or not a Queue ({e}): bind the \
                 `revocations` queue under [[queues.producers]] in wrangler.toml"
            )),
            Self::Bound(None) => Check::passed(format!("{bound}; the runtime reports no backlog")),
            Self::Bound(Some(Backlog {
                messages,
                oldest_age_secs: Some(age),
            })) if *messages > 0 && *age > QUEUE_STUCK_SECS => Check::failed(format!(
                "{bound}, but {messages} messages wait, the oldest for {age} s: is this Worker \
                 the consumer of the `revocations` queue in wrangler.toml, and is it failing?"
            )),
            Self::Bound(Some(backlog)) => Check::passed(format!(
                "{bound}; backlog: {} messages, the oldest waiting {} s",
                backlog.messages,
                backlog.oldest_age_secs.unwrap_or(0)
            )),
            Self::MetricsFailed(e) => {
                Check::failed(format!("{bound}, but its backlog could not be read: {e}"))
            }
        }
    }
}

/// The liveness answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Liveness {
    /// `true` when the configuration parses.
    pub ok: bool,
    /// Always `liveness`: which answer this is.
    pub check: &'static str,
    /// `valid` or `invalid`. What is wrong is never said here, to anyone: the Worker's log has
    /// it under [`reference`](Self::reference), as for every request a misconfiguration fails.
    pub configuration: &'static str,
    /// The reference of the log line naming the setting and the fix, when the configuration
    /// is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Liveness {
    /// The answer when the configuration parsed.
    pub fn valid() -> Self {
        Self {
            ok: true,
            check: "liveness",
            configuration: "valid",
            reference: None,
        }
    }

    /// The answer when it did not; `reference` finds the log line with the detail.
    pub fn invalid(reference: String) -> Self {
        Self {
            ok: false,
            check: "liveness",
            configuration: "invalid",
            reference: Some(reference),
        }
    }

    /// `200` when the configuration parses, `503` otherwise.
    pub fn status(&self) -> u16 {
        if self.ok { 200 } else { 503 }
    }
}

/// The deep check's report on every binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `true` only when every check passed.
    pub ok: bool,
    /// Always `deep`: which answer this is.
    pub check: &'static str,
    /// Whether migration mode is on (the check then wrote nothing).
    pub migration_mode: bool,
    /// The D1 database `DB`.
    pub d1: Check,
    /// The KV namespace `KV`.
    pub kv: Check,
    /// The producer binding of the `revocations` Queue.
    pub queue: Check,
}

impl Report {
    /// Builds the report from the three checks made under `plan`.
    pub fn new(plan: Plan, d1: Check, kv: Check, queue: Check) -> Self {
        Self {
            ok: d1.ok && kv.ok && queue.ok,
            check: "deep",
            migration_mode: !plan.kv_write,
            d1,
            kv,
            queue,
        }
    }

    /// `200` when healthy, `503` otherwise, so that load balancers and uptime probes act on it.
    pub fn status(&self) -> u16 {
        if self.ok { 200 } else { 503 }
    }
}

/// Which answer `GET /healthz` gets: the deep check for the admin (the admin API's
/// credentials), the liveness answer for everyone else. A wrong `ADMIN_TOKEN` is refused
/// (`401`), so that a typo is not mistaken for a healthy deep check; a browser whose session
/// is not an admin's, and every caller while no admin credential is configured, get the
/// liveness answer. Nothing is read from storage without credentials.
pub async fn health_depth<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
) -> Result<Depth, Failure> {
    if credentials.authorization.is_none() && credentials.session.is_none() {
        return Ok(Depth::Liveness);
    }
    match admin(cx, admins, credentials, None).await {
        Ok(_) => Ok(Depth::Deep),
        Err(Failure::OAuth { error, .. }) if error.reason == Reason::AdminApiOff => {
            Ok(Depth::Liveness)
        }
        Err(Failure::OAuth { error, .. })
            if error.reason == Reason::AdminUnauthorized && credentials.authorization.is_none() =>
        {
            Ok(Depth::Liveness)
        }
        Err(failure) => Err(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(kv_write: bool) -> Plan {
        Plan { kv_write }
    }

    #[test]
    fn healthy_only_when_every_binding_is() {
        let ok = || Check::passed("fine");
        assert_eq!(Report::new(plan(true), ok(), ok(), ok()).status(), 200);
        let broken = Report::new(plan(true), ok(), Check::failed("KV down"), ok());
        assert!(!broken.ok);
        assert_eq!(broken.status(), 503);
        assert_eq!(
            Report::new(plan(true), ok(), ok(), Check::failed("unbound")).status(),
            503
        );
        assert_eq!(
            Report::new(plan(false), Check::failed("no schema"), ok(), ok()).status(),
            503
        );
    }

    #[test]
    fn a_queue_whose_oldest_message_waits_too_long_fails() {
        let backlog = |messages, age| {
            QueueCheck::Bound(Some(Backlog {
                messages,
                oldest_age_secs: age,
            }))
        };
        assert!(QueueCheck::Bound(None).check("Q").ok);
        assert!(backlog(0, None).check("Q").ok);
        assert!(backlog(3, Some(QUEUE_STUCK_SECS)).check("Q").ok);
        assert!(!backlog(3, Some(QUEUE_STUCK_SECS + 1)).check("Q").ok);
        assert!(!QueueCheck::Unbound("undefined".into()).check("Q").ok);
        assert!(!QueueCheck::MetricsFailed("boom".into()).check("Q").ok);
        assert!(
            QueueCheck::Bound(None)
                .check("Q")
                .detail
                .contains("no message sent")
        );
    }

    #[test]
    fn the_report_says_which_answer_it_is_and_whether_it_wrote() {
        let ok = || Check::passed("fine");
        let report = serde_json::to_value(Report::new(plan(false), ok(), ok(), ok())).unwrap();
        assert_eq!(report["check"], "deep");
        assert_eq!(report["migration_mode"], true);
        assert_eq!(Liveness::valid().status(), 200);
        let live = Liveness::invalid("0123456789abcdef".into());
        assert_eq!(live.status(), 503);
        let live = serde_json::to_value(&live).unwrap();
        assert_eq!(live["check"], "liveness");
        assert_eq!(live["configuration"], "invalid");
        assert_eq!(live["reference"], "0123456789abcdef");
    }
}
