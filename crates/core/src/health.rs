//! The health report served at `GET /healthz`: one check per binding the Worker depends on.
//!
//! The Worker performs the round trips (D1 query, KV write and read, Queue send and consume);
//! this module decides what the report says and which status it carries, so that a half-working
//! deployment is never reported as healthy.

use serde::Serialize;

/// The outcome of one binding's round trip.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Whether the round trip completed as expected.
    pub ok: bool,
    /// What was observed, or what went wrong and how to fix it.
    pub detail: String,
}

impl Check {
    /// A round trip that completed.
    pub fn passed(detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            detail: detail.into(),
        }
    }

    /// A round trip that failed; `detail` names the binding and the fix.
    pub fn failed(detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            detail: detail.into(),
        }
    }
}

/// The health of every binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `true` only when every check passed.
    pub ok: bool,
    /// The D1 database `DB`.
    pub d1: Check,
    /// The KV namespace `KV`.
    pub kv: Check,
    /// The `revocations` Queue, producer and consumer.
    pub queue: Check,
}

impl Report {
    /// Builds the report from the three checks.
    pub fn new(d1: Check, kv: Check, queue: Check) -> Self {
        Self {
            ok: d1.ok && kv.ok && queue.ok,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_only_when_every_binding_is() {
        let ok = || Check::passed("fine");
        assert_eq!(Report::new(ok(), ok(), ok()).status(), 200);
        let broken = Report::new(ok(), Check::failed("KV down"), ok());
        assert!(!broken.ok);
        assert_eq!(broken.status(), 503);
        assert_eq!(
            Report::new(ok(), ok(), Check::failed("no consumer")).status(),
            503
        );
        assert_eq!(
            Report::new(Check::failed("no schema"), ok(), ok()).status(),
            503
        );
    }
}
