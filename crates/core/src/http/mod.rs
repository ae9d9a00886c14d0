//! HTTP details, each implemented once: media types and `Accept` negotiation, cookies (names,
//! reading, `Set-Cookie`, the CSRF token's issuing), `WWW-Authenticate` challenges, the loopback
//! rule, and [`Reply`](reply::Reply), the one shape of every answer gatehouse writes itself.
//!
//! This layer depends only on the bottom of the core (`error`, `rng`, `secret`, `crypto`): the
//! features use it, never the other way round. It holds no Worker types; the adapter (`src/`)
//! writes a [`Reply`](reply::Reply) to the runtime and decides nothing about it.

pub mod challenge;
pub mod cookie;
pub mod loopback;
pub mod media_type;
pub mod negotiation;
pub mod reply;
