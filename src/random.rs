//! Randomness from the platform's CSPRNG (`crypto.getRandomValues` through getrandom's `js`
//! feature on wasm32).

use worker::{Error, Result};

/// `N` random bytes as lowercase hex.
pub fn hex<const N: usize>() -> Result<String> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| Error::RustError(format!("getrandom: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
