//! gatehouse's protocol core: every decision the authorization server and the gatekeeper make,
//! free of Worker types so that it builds and is tested natively (`cargo test -p gatehouse-core`).
//!
//! The Worker crate at the repository root maps HTTP, D1, KV and the Queue onto this crate and
//! never decides anything about the protocol itself.
#![warn(missing_docs)]

pub mod health;
pub mod queue;
