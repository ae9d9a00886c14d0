//! Checked local-account logins.

use crate::model::login::{LoginAttempt, LoginHistory};

use super::error::StoreError;

/// Checked local-account logins, for the bounds of `crate::login_throttle`.
#[allow(async_fn_in_trait)]
pub trait LoginAttempts {
    /// Starts checking a login, in one atomic step: if the bounds allow a check now
    /// (`crate::login_throttle::judge` on the history at `attempt.at`, which the D1 statement
    /// repeats in SQL), records the attempt as a failure and returns its id, so that checks
    /// racing each other count each other; otherwise records nothing and returns the history
    /// that refused it. Counted are failures after `login_throttle::window_start` and
    /// successes after `login_throttle::known_since`; older rows, which no bound reads any
    /// more, are forgotten in the same step.
    async fn start_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> Result<Result<u64, LoginHistory>, StoreError>;
    /// The password was right: the attempt is a success, and its source becomes known to its
    /// account.
    async fn login_attempt_succeeded(&self, id: u64) -> Result<(), StoreError>;
}
