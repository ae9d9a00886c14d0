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

    /// This instant as a UTC calendar date and time of day, in the proleptic Gregorian calendar:
    /// what pages and certificates (RFC 5280 §4.1.2.5) print.
    pub fn civil(self) -> Civil {
        let secs = i64::try_from(self.0).unwrap_or(i64::MAX / 2);
        // H. Hinnant's `civil_from_days`, for the day count since 1970-01-01.
        let z = secs.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let of_day = secs.rem_euclid(86_400);
        Civil {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }
}

/// A UTC calendar date and time of day ([`UnixTime::civil`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// The year, e.g. 2026.
    pub year: i64,
    /// 1 to 12.
    pub month: i64,
    /// 1 to 31.
    pub day: i64,
    /// 0 to 23.
    pub hour: i64,
    /// 0 to 59.
    pub minute: i64,
    /// 0 to 59.
    pub second: i64,
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
    fn civil_dates_are_proleptic_gregorian_utc() {
        let at = |secs| {
            let c = UnixTime(secs).civil();
            (c.year, c.month, c.day, c.hour, c.minute, c.second)
        };
        assert_eq!(at(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(at(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(
            at(1_795_996_800 + 3600 * 13 + 60 * 7 + 5),
            (2026, 11, 30, 13, 7, 5)
        );
        assert_eq!(at(4_102_444_800), (2100, 1, 1, 0, 0, 0));
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(UnixTime(u64::MAX).plus(10), UnixTime(u64::MAX));
        assert_eq!(UnixTime(5).since(UnixTime(10)), 0);
        assert_eq!(UnixTime(15).since(UnixTime(10)), 5);
    }
}
