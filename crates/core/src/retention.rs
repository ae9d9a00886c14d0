//! Retention: the cron forgets rows that no rule reads any more, so that the database holds
//! what the live agents need rather than every token it ever issued.
//!
//! Without it the refresh grant alone grows D1 by a row per refresh (rotation keeps the
//! presented token to recognise its reuse) and an audit event per refresh: at one refresh
//! every ten minutes that is 144 rows a day per agent, and one database (10 GB) fills in weeks
//! at ten thousand agents (`docs/capacity.md` has the measured bytes).
//!
//! What is forgotten, and why each cut-off is safe:
//!
//! - **Rotated refresh tokens**, [`REUSE_DETECTION_SECS`] after their rotation. A rotated
//!   token is kept so that presenting it again is recognised as reuse and revokes the grant
//!   (RFC 9700 §4.14.2), and so that a retried refresh receives the same successor (for
//!   [`crate::grants::refresh_token::RETRY_WINDOW_SECS`], far shorter). After a day a rotated
//!   token is refused as unknown (`invalid_grant`) instead: it never worked again either way;
//!   what is lost is the grant's revocation when a thief presents it after a day. A thief who
//!   refreshes first is still caught: the rightful client presents the token the thief
//!   rotated within its own refresh period, which is well inside the day.
//! - **Expired** refresh tokens, codes, sessions, upstream-login states, device codes,
//!   [`GRACE_SECS`] after they expired: every read of them already refuses them by
//!   `expires_at`; the grace keeps the distinct answers an expired row gives (a replayed code
//!   still revokes its grant, RFC 6749 §4.1.2; a device code polled after expiry still gets
//!   `expired_token`, RFC 8628 §3.5) for clients that come back late, and is far beyond any
//!   clock difference between isolates.
//! - **Wrong user codes** after the window they are counted in
//!   ([`crate::device::WRONG_USER_CODE_WINDOW_SECS`]), with the same grace.
//! - **Client assertion ids** once their assertion expired: single use is checked only until
//!   then (RFC 7523 §3, `jti`).
//! - **Audit events** only when the operator sets `AUDIT_RETENTION_DAYS`; by default the
//!   audit trail is kept whole.
//!
//! Grants, consents, clients and people are kept: they are few (one per agent or person), and
//! the connected-agents page and the admin views show their history.

use crate::store::{Lapsed, Retention, StoreError};
use crate::time::UnixTime;

/// How long a rotated refresh token is kept to recognise its reuse.
pub const REUSE_DETECTION_SECS: u64 = 24 * 3600;
/// How long an expired row is kept past its expiry.
pub const GRACE_SECS: u64 = 24 * 3600;
/// Rows deleted per statement: small enough that one statement stays short on a database that
/// serves live traffic (D1 runs one statement at a time).
pub const BATCH_ROWS: u32 = 500;
/// Statements per kind of row per run. With the cron every minute this forgets up to
/// `BATCH_ROWS × MAX_BATCHES` rows of each kind a minute (10,000): above the rate at which
/// 1.4 million agents refreshing every ten minutes rotate tokens. Past it, the backlog is
/// carried to the next run.
pub const MAX_BATCHES: u32 = 20;

/// What one sweep forgot, per kind of row, in the order of [`cut_offs`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// Rows deleted, by kind.
    pub rows: Vec<(Lapsed, u32)>,
    /// Kinds that still had lapsed rows when the run's statements for them were spent.
    pub backlog: Vec<Lapsed>,
}

impl Forgotten {
    /// Every row deleted.
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| u64::from(*n)).sum()
    }
}

/// The cut-off of every kind of row at `now`; `audit_retention_secs` is the operator's
/// `AUDIT_RETENTION_DAYS` in seconds, if set.
pub fn cut_offs(now: UnixTime, audit_retention_secs: Option<u64>) -> Vec<Lapsed> {
    let before = |secs: u64| UnixTime(now.0.saturating_sub(secs));
    let expired = before(GRACE_SECS);
    let mut kinds = vec![
        Lapsed::RotatedRefreshTokens(before(REUSE_DETECTION_SECS)),
        Lapsed::ExpiredRefreshTokens(expired),
        Lapsed::Codes(expired),
        Lapsed::Sessions(expired),
        Lapsed::OidcStates(expired),
        Lapsed::DeviceCodes(expired),
        Lapsed::WrongUserCodes(before(
            crate::device::WRONG_USER_CODE_WINDOW_SECS + GRACE_SECS,
        )),
        Lapsed::AssertionIds(now),
    ];
    if let Some(secs) = audit_retention_secs {
        kinds.push(Lapsed::AuditEvents(before(secs)));
    }
    kinds
}

/// Forgets lapsed rows of every kind, [`BATCH_ROWS`] at a time, at most [`MAX_BATCHES`]
/// statements per kind. Stops at the first storage error: what was deleted stays deleted,
/// and the next run goes on from there.
pub async fn sweep(
    store: &impl Retention,
    now: UnixTime,
    audit_retention_secs: Option<u64>,
) -> Result<Forgotten, StoreError> {
    let mut forgotten = Forgotten::default();
    for lapsed in cut_offs(now, audit_retention_secs) {
        let mut rows = 0;
        let mut exhausted = true;
        for _ in 0..MAX_BATCHES {
            let deleted = store.forget(lapsed, BATCH_ROWS).await?;
            rows += deleted;
            if deleted < BATCH_ROWS {
                exhausted = false;
                break;
            }
        }
        if exhausted {
            forgotten.backlog.push(lapsed);
        }
        forgotten.rows.push((lapsed, rows));
    }
    Ok(forgotten)
}
