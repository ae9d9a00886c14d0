//! The core's platform traits on the Workers runtime: the clock and PBKDF2.

use gatehouse_core::password::Pbkdf2;
use gatehouse_core::time::{Clock, UnixTime};

use crate::webcrypto;

/// `Date.now()`, in whole seconds. Called as the static `Date.now()`: `worker::Date::now()`
/// constructs a `Date` object and reads it back, two calls into the runtime instead of one.
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now(&self) -> UnixTime {
        UnixTime(js_sys::Date::now() as u64 / 1000)
    }
}

/// PBKDF2 through WebCrypto.
pub struct WebCryptoPbkdf2;

impl Pbkdf2 for WebCryptoPbkdf2 {
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        len: usize,
    ) -> Option<Vec<u8>> {
        webcrypto::pbkdf2(password, salt, rounds, len).await.ok()
    }
}
