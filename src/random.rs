//! Randomness from the platform's CSPRNG (`crypto.getRandomValues` through getrandom's `js`
//! feature on wasm32).

use gatehouse_core::rng::Rng;
use worker::{Error, Result};

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::RustError(format!("getrandom: {e}")))?;
    Ok(bytes)
}

/// `N` random bytes as lowercase hex.
pub fn hex<const N: usize>() -> Result<String> {
    Ok(gatehouse_core::crypto::hex(&bytes::<N>()?))
}

/// The core's [`Rng`] on the platform CSPRNG.
pub struct PlatformRng;

impl Rng for PlatformRng {
    fn fill(&self, buf: &mut [u8]) {
        // crypto.getRandomValues does not fail for buffers under 64 KiB, which is all we ask.
        // Should it ever, carrying on would issue predictable secrets: fail the request instead
        // (on wasm32 an abort traps, and the runtime answers 500).
        if getrandom::getrandom(buf).is_err() {
            worker::console_error!("getrandom failed; aborting the request");
            std::process::abort();
        }
    }
}
