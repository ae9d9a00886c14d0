//! Bounds on failed local-account logins, per account and per source address, decided before
//! any password is hashed.
//!
//! Passwords are PBKDF2 hashes (`crate::password`): each check costs real CPU, so an
//! anonymous request that can make one is a CPU burner as well as a guess. Two bounds, each
//! over a sliding window of [`WINDOW_SECS`]:
//!
//! - per source (an IPv4 address or an IPv6 /64, `registration::source_network`): at most
//!   [`MAX_FAILURES_PER_SOURCE`] failed logins, at any accounts;
//! - per account (the email typed, hashed): at most [`MAX_FAILURES_PER_ACCOUNT`] failed
//!   logins, from any sources. This bound does **not** apply to a source that logged in to
//!   that account within [`KNOWN_SOURCE_SECS`]: an attacker guessing at someone's password
//!   from elsewhere cannot keep the real person out from the address they use. From a new
//!   address the person waits at most the window once guessing stops.
//!
//! Nothing is a lockout: a refused attempt is not counted (so refusals cannot extend
//! themselves), each bound lifts as its oldest counted failure leaves the window, and the
//! answer says when (`429` + `Retry-After`). Only attempts that were checked are recorded and
//! audited, so the audit log grows no faster than the bounds allow.

use crate::crypto::sha256;
use crate::secret::SecretHash;
use crate::time::UnixTime;

pub use crate::model::login::LoginHistory;

/// The window over which failures are counted.
pub const WINDOW_SECS: u64 = 15 * 60;
/// Failed logins one source may make in the window, at any accounts. Enough for an office
/// behind one address whose people mistype now and then; a guesser gets 80 an hour.
pub const MAX_FAILURES_PER_SOURCE: u64 = 20;
/// Failed logins one account may see in the window, from sources it was not logged in from.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 10;
/// A source that logged in to an account this recently is exempt from that account's bound.
pub const KNOWN_SOURCE_SECS: u64 = 30 * 24 * 3600;

/// Whether a login may be checked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Allow,
    /// Refuse without hashing; try again after this many seconds.
    Throttle {
        /// Seconds until the bound that refused lifts.
        retry_after_secs: u64,
    },
}

/// The storage key of the account an email names: its SHA-256, so the emails typed (which
/// may be mistyped passwords) are not kept.
pub fn account_key(email: &str) -> SecretHash {
    SecretHash::from_digest(&sha256(email.as_bytes()))
}

/// Failures after this time (not at it) count now, so a bound lifts exactly when
/// `Retry-After` said: once its oldest failure is [`WINDOW_SECS`] old.
pub fn window_start(now: UnixTime) -> UnixTime {
    UnixTime(now.0.saturating_sub(WINDOW_SECS))
}

/// Successful logins after this time make their source known to the account.
pub fn known_since(now: UnixTime) -> UnixTime {
    UnixTime(now.0.saturating_sub(KNOWN_SOURCE_SECS))
}

/// Decides whether a login may be checked, given its history.
pub fn judge(history: &LoginHistory, now: UnixTime) -> Verdict {
    let lifts = |oldest: Option<UnixTime>| {
        // The bound lifts when the oldest counted failure leaves the window; at least 1 s.
        oldest
            .map_or(WINDOW_SECS, |t| {
                t.0.saturating_add(WINDOW_SECS).saturating_sub(now.0)
            })
            .max(1)
    };
    let by_source =
        (history.source_failures >= MAX_FAILURES_PER_SOURCE).then(|| lifts(history.source_oldest));
    let by_account = (history.account_failures >= MAX_FAILURES_PER_ACCOUNT
        && !history.source_known)
        .then(|| lifts(history.account_oldest));
    match by_source.into_iter().chain(by_account).max() {
        Some(retry_after_secs) => Verdict::Throttle { retry_after_secs },
        None => Verdict::Allow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime(1_800_000_000);

    fn history(account: u64, source: u64, known: bool) -> LoginHistory {
        LoginHistory {
            account_failures: account,
            account_oldest: (account > 0).then_some(UnixTime(NOW.0 - 600)),
            source_failures: source,
            source_oldest: (source > 0).then_some(UnixTime(NOW.0 - 300)),
            source_known: known,
        }
    }

    #[test]
    fn each_bound_refuses_at_its_limit_and_says_when_it_lifts() {
        let rows = [
            // (account failures, source failures, source known, verdict)
            (0, 0, false, Verdict::Allow),
            (
                MAX_FAILURES_PER_ACCOUNT - 1,
                MAX_FAILURES_PER_SOURCE - 1,
                false,
                Verdict::Allow,
            ),
            // The account's oldest failure was 600 s ago: 300 s left of the window.
            (
                MAX_FAILURES_PER_ACCOUNT,
                0,
                false,
                Verdict::Throttle {
                    retry_after_secs: 300,
                },
            ),
            // The source's oldest failure was 300 s ago: 600 s left.
            (
                0,
                MAX_FAILURES_PER_SOURCE,
                false,
                Verdict::Throttle {
                    retry_after_secs: 600,
                },
            ),
            (
                0,
                MAX_FAILURES_PER_SOURCE,
                true,
                Verdict::Throttle {
                    retry_after_secs: 600,
                },
            ),
            // Both: the later lifting counts.
            (
                MAX_FAILURES_PER_ACCOUNT,
                MAX_FAILURES_PER_SOURCE,
                false,
                Verdict::Throttle {
                    retry_after_secs: 600,
                },
            ),
        ];
        for (account, source, known, verdict) in rows {
            assert_eq!(
                judge(&history(account, source, known), NOW),
                verdict,
                "{account} {source} {known}"
            );
        }
    }

    #[test]
    fn the_account_bound_spares_a_source_the_person_logged_in_from() {
        // Someone guessing at alice's password from elsewhere cannot keep her out at home.
        assert_eq!(
            judge(&history(MAX_FAILURES_PER_ACCOUNT * 100, 0, true), NOW),
            Verdict::Allow
        );
    }

    #[test]
    fn a_bound_never_asks_for_less_than_a_second_or_more_than_the_window() {
        let mut h = history(MAX_FAILURES_PER_ACCOUNT, 0, false);
        h.account_oldest = Some(UnixTime(NOW.0 - WINDOW_SECS));
        assert_eq!(
            judge(&h, NOW),
            Verdict::Throttle {
                retry_after_secs: 1
            }
        );
        h.account_oldest = None;
        assert_eq!(
            judge(&h, NOW),
            Verdict::Throttle {
                retry_after_secs: WINDOW_SECS
            }
        );
        h.account_oldest = Some(NOW);
        assert_eq!(
            judge(&h, NOW),
            Verdict::Throttle {
                retry_after_secs: WINDOW_SECS
            }
        );
    }

    #[test]
    fn accounts_are_keyed_by_a_hash_of_the_email() {
        let key = account_key("alice@example.com");
        assert_eq!(key.as_hex().len(), 64);
        assert!(!key.as_hex().contains("alice"));
        assert_ne!(key, account_key("bob@example.com"));
    }
}
