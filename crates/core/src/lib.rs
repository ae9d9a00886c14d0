//! gatehouse's protocol core: every decision the authorization server and the gatekeeper make,
//! free of Worker types so that it builds and is tested natively (`cargo test -p gatehouse-core`).
//!
//! The Worker crate at the repository root maps HTTP, D1, KV and the Queue onto this crate and
//! never decides anything about the protocol itself.
#![warn(missing_docs)]

pub mod health;
pub mod http;

pub mod access_token;
pub mod admin;
pub mod agents;
pub mod answer;
pub mod app;
pub mod authorize;
pub mod cimd;
pub mod client_assertion;
pub mod client_auth;
pub mod config;
pub mod consent;
pub mod context;
pub mod crypto;
pub mod csrf;
pub mod decision;
pub mod device;
pub mod error;
pub mod failure;
pub mod form;
pub mod gatekeeper;
pub mod grant_id;
pub mod grants;
pub mod identifiers;
pub mod introspection;
pub mod jose;
pub mod key_schedule;
pub mod login;
pub mod login_throttle;
pub mod markdown;
pub mod metadata;
pub mod migration;
pub mod model;
pub mod net;
pub mod oidc;
pub mod page;
pub mod password;
pub mod paths;
pub mod pkce;
pub mod policy;
pub mod registration;
pub mod request_url;
pub mod retention;
pub mod revocation;
pub mod rng;
pub mod secret;
pub mod server;
pub mod server_secret;
pub mod session_cookie;
pub mod site;
pub mod store;
pub mod tag;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;
pub mod types;
