//! Whole flows through the authorization server, in memory, one module per specification.
//! Each test names the behaviour it proves and asserts the exact `Reason` of every refusal.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

mod admin_api;
mod admin_console;
mod cimd;
mod cloudflare_access;
mod code_cold_client;
mod connected_agents;
mod forged_identifiers;
mod healthz;
mod login_and_consent;
mod mcp_clients;
mod migration_mode;
mod oidc_login;
mod path_prefix;
mod policy_change;
mod read_replicas;
mod refresh_cold_client;
mod retention;
mod revocation_queue;
mod revocation_steps;
mod revoke_cold_client;
mod rfc6749_code_flow;
mod rfc6749_refresh;
mod rfc6750_gatekeeper;
mod rfc7009_revocation;
mod rfc7515_jws;
mod rfc7591_registration;
mod rfc7636_pkce;
mod rfc7662_introspection;
mod rfc8628_device_grant;
mod rfc8707_resource;
mod rfc9068_access_token;
mod secret_rotation;
