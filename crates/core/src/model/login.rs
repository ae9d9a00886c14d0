//! Local-account login attempts as storage counts them. The bounds, and the judgement on a
//! history, are `crate::login_throttle`'s.

use crate::secret::SecretHash;
use crate::time::UnixTime;

/// A local-account login about to be checked, as `crate::login_throttle` counts them.
#[derive(Clone, Copy, Debug)]
pub struct LoginAttempt<'a> {
    /// The account typed (`crate::login_throttle::account_key`).
    pub account: &'a SecretHash,
    /// Where it came from (`registration::source_network`).
    pub source: &'a str,
    /// When.
    pub at: UnixTime,
}

/// What storage knows about recent logins at one account and from one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginHistory {
    /// Failed logins at the account in the window, from any source.
    pub account_failures: u64,
    /// When the oldest of them happened.
    pub account_oldest: Option<UnixTime>,
    /// Failed logins from the source in the window, at any account.
    pub source_failures: u64,
    /// When the oldest of them happened.
    pub source_oldest: Option<UnixTime>,
    /// Whether the source logged in to the account within
    /// `crate::login_throttle::KNOWN_SOURCE_SECS`.
    pub source_known: bool,
}
