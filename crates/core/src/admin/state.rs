//! The admin console's state page: whether migration mode is on (and its settings), the writes
//! held in KV until the drain writes them to D1 (the admin API's `held` view), each with its
//! failures, last error and next try, and where the deep health check is.

use serde::Serialize;

use super::{Admins, console_admin};
use crate::admin::AdminCredentials;
use crate::admin::console::ConsoleLinks;
use crate::context::Context;
use crate::failure::Failure;
use crate::jose::signer::Signer;
use crate::migration::DRAIN_BATCH;
use crate::paths;
use crate::rng::Rng;
use crate::store::Store;

/// One held write as the page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldRow {
    /// What kind of write (`revoke_grant`, `withdraw_consent`, `end_sessions_of`, `audit`, …).
    pub kind: String,
    /// The write itself, as compact JSON.
    pub write: String,
    /// How many drains failed to write it.
    pub failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Not tried again before this time (Unix seconds).
    pub retry_at: Option<u64>,
}

/// Everything the state page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleState {
    /// Who is looking.
    pub admin: String,
    /// Migration mode: `Some((retry_after_secs, access_token_ttl_secs))` while it is on.
    pub migration: Option<(u64, u64)>,
    /// The held writes, at most one drain batch.
    pub held: Vec<HeldRow>,
    /// Whether there may be more than the page lists.
    pub held_bound_reached: bool,
    /// The deep health check (D1, KV, the Queue), answered to an admin's session as JSON.
    pub health_check: String,
    /// The console's pages.
    pub links: ConsoleLinks,
}

/// `GET …/.gatehouse/admin/console/state`.
pub async fn console_state<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    admins: Admins<'_>,
    credentials: &AdminCredentials<'_>,
) -> Result<ConsoleState, Failure> {
    let admin = console_admin(cx, admins, credentials, None).await?;
    let held = cx.store.held(DRAIN_BATCH).await?;
    let rows = held
        .into_iter()
        .map(|held| {
            let mut write = serde_json::to_value(&held.write).unwrap_or_default();
            let kind = write
                .as_object_mut()
                .and_then(|o| o.remove("kind"))
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_default();
            HeldRow {
                kind,
                write: write.to_string(),
                failures: held.failures,
                last_error: held.last_error,
                retry_at: held.retry_at.map(|t| t.0),
            }
        })
        .collect::<Vec<_>>();
    Ok(ConsoleState {
        admin,
        migration: cx
            .store
            .mode()
            .map(|m| (m.retry_after_secs, m.access_token_ttl_secs)),
        held_bound_reached: rows.len() >= DRAIN_BATCH as usize,
        held: rows,
        health_check: cx.site.path(paths::HEALTHZ),
        links: super::console::console_links(&cx.site),
    })
}
