//! The records gatehouse stores, and the messages it queues: plain data with the pure rules that
//! read only the record itself (a code's binding, a held write's back-off).
//!
//! This layer depends only on the bottom layer (`error`, `time`, `rng`, `crypto`, `secret`,
//! `tag`, `types`, `grant_id`): storage (`crate::store`) and the features build on it.

pub mod audit;
pub mod client;
pub mod code;
pub mod consent;
pub mod device;
pub mod grant;
pub mod held;
pub mod login;
pub mod oidc_state;
pub mod person;
pub mod queue;
pub mod refresh;
pub mod revocation;
