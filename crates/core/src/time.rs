//! Time as the protocol sees it: whole seconds since the Unix epoch, read once per request from a
//! [`Clock`] so that every rule is deterministic under test.
//!
//! The core never reads the system clock itself: `std::time::SystemTime::now()` panics on
//! `wasm32-unknown-unknown`, and a fixed clock makes expiry rules testable without sleeping.

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (the `NumericDate` of RFC 7519 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// This instant plus `secs` seconds, saturating instead of overflowing.
    pub fn plus(self, secs: u64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// Whole seconds from `earlier` to this instant; zero when `earlier` is later.
    pub fn since(self, earlier: UnixTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The source of the current time. The Worker reads `Date.now()`; tests use a fixed clock.
pub trait Clock {
    /// The current time.
    fn now(&self) -> UnixTime;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(UnixTime(u64::MAX).plus(10), UnixTime(u64::MAX));
        assert_eq!(UnixTime(5).since(UnixTime(10)), 0);
        assert_eq!(UnixTime(15).since(UnixTime(10)), 5);
    }
}
