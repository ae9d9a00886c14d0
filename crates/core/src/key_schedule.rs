//! The signing keys' schedule: a key signs for `SIGNING_KEY_ROTATION_SECS`, then retires, and
//! stays published in the JWKS until every token it signed has expired. The adapter stores the
//! keys and does the cryptography (`src/keys.rs`); which key signs, and when one is made or
//! dropped, is decided here.

use crate::config::MAX_ACCESS_TOKEN_TTL_SECS;
use crate::time::UnixTime;

/// A retired key stays published this long: twice the longest an access token (or an origin
/// assertion) can live, so a token signed in the key's last second still verifies until it
/// expires, with margin for clocks and caches (RFC 7517 §5 lets a set hold keys being phased out).
pub const PUBLISHED_AFTER_RETIREMENT_SECS: u64 = 2 * MAX_ACCESS_TOKEN_TTL_SECS;

/// When a new key retires and when it stops being published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyTimes {
    /// It signs until then.
    pub retires_at: UnixTime,
    /// It is published until then.
    pub expires_at: UnixTime,
}

/// The times of a key made at `now` under a rotation of `rotation_secs`.
pub fn new_key(now: UnixTime, rotation_secs: u64) -> KeyTimes {
    let retires_at = now.plus(rotation_secs);
    KeyTimes {
        retires_at,
        expires_at: retires_at.plus(PUBLISHED_AFTER_RETIREMENT_SECS),
    }
}

/// Whether a key that stops being published at `expires_at` is still in the JWKS at `now`.
pub fn is_published(expires_at: u64, now: UnixTime) -> bool {
    now.0 < expires_at
}

/// Which key signs now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Current<'k> {
    /// This one.
    Use(&'k str),
    /// None may: make a new one.
    Generate,
}

/// The key that signs at `now`, among `keys` (`kid`, `retires_at`, `expires_at`): one that has
/// not retired; otherwise, while writes are frozen (migration mode), the newest still
/// published, since a new key could not be stored; otherwise a new key.
pub fn current<'k>(
    keys: impl IntoIterator<Item = (&'k str, u64, u64)>,
    now: UnixTime,
    frozen: bool,
) -> Current<'k> {
    let mut newest_published: Option<(&'k str, u64)> = None;
    for (kid, retires_at, expires_at) in keys {
        if now.0 < retires_at {
            return Current::Use(kid);
        }
        if is_published(expires_at, now) && newest_published.is_none_or(|(_, r)| retires_at > r) {
            newest_published = Some((kid, retires_at));
        }
    }
    match newest_published {
        Some((kid, _)) if frozen => Current::Use(kid),
        _ => Current::Generate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn a_retired_key_outlives_every_token_it_signed() {
        let times = new_key(UnixTime(1_000), 30 * DAY);
        assert_eq!(times.retires_at, UnixTime(1_000 + 30 * DAY));
        let last_token_expires = times.retires_at.plus(MAX_ACCESS_TOKEN_TTL_SECS);
        assert!(is_published(times.expires_at.0, last_token_expires));
        assert!(!is_published(times.expires_at.0, times.expires_at));
    }

    #[test]
    fn a_live_key_signs_and_a_retired_one_is_replaced_unless_writes_are_frozen() {
        let now = UnixTime(100);
        let keys = [("old", 50, 500), ("older", 40, 400), ("gone", 10, 90)];
        assert_eq!(current(keys, now, false), Current::Generate);
        assert_eq!(current(keys, now, true), Current::Use("old"));
        let live = [("old", 50, 500), ("new", 150, 600)];
        assert_eq!(current(live, now, false), Current::Use("new"));
        assert_eq!(current([("gone", 10, 90)], now, true), Current::Generate);
        assert_eq!(current([], now, true), Current::Generate);
    }
}
