//! Randomness as the protocol sees it: a [`Rng`] that fills buffers, implemented by the platform.
//!
//! The core never asks the operating system for randomness itself: on `wasm32-unknown-unknown`
//! there is no OS to ask (the Worker implements this trait with `getrandom`'s `js` feature, i.e.
//! `crypto.getRandomValues`), and a deterministic implementation keeps tests reproducible.
//! This module deliberately offers no generator of its own.

/// A source of cryptographically secure random bytes.
///
/// Every secret the server issues (authorization codes, refresh tokens, client secrets, CSRF
/// tokens, session ids; RFC 6749 §10.10: "The probability of an attacker guessing generated
/// tokens (and other credentials not intended for handling by end-users) MUST be less than or
/// equal to 2^(-128)") draws its bytes from here.
///
/// `fill` takes `&self`, like `Clock::now` in `time`: the platform generator is stateless
/// from Rust's point of view, and shared references let one server value hold it without
/// threading `&mut` through every handler. Deterministic test doubles use interior mutability.
pub trait Rng {
    /// Overwrites every byte of `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// A deterministic [`Rng`] for unit tests: byte `n` of its output stream is `seed + n` (wrapping).
#[cfg(test)]
pub(crate) struct SeqRng(std::cell::Cell<u8>);

#[cfg(test)]
impl SeqRng {
    /// A generator whose first byte is `seed`.
    pub(crate) fn new(seed: u8) -> Self {
        Self(std::cell::Cell::new(seed))
    }
}

#[cfg(test)]
impl Rng for SeqRng {
    fn fill(&self, buf: &mut [u8]) {
        for byte in buf {
            *byte = self.0.get();
            self.0.set(self.0.get().wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_rng_continues_its_sequence_across_calls() {
        let rng = SeqRng::new(254);
        let mut first = [0u8; 3];
        let mut second = [0u8; 2];
        rng.fill(&mut first);
        rng.fill(&mut second);
        assert_eq!(first, [254, 255, 0]);
        assert_eq!(second, [1, 2]);
    }
}
