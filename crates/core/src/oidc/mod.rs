//! Login through an upstream OpenID Connect provider (OpenID Connect Core 1.0, authorization
//! code flow, §3.1) next to local accounts: the authorization code with PKCE, `state` and
//! `nonce`; the ID token checked per §3.1.3.7; the person mapped to a gatehouse [`Person`]
//! whose email and groups the apps' policies see, in browser sessions and agent tokens alike.
//!
//! The platform does the I/O through [`upstream::Upstream`] (HTTP, caches, WebCrypto); every decision is
//! here. Not here: the implicit and hybrid flows, `form_post`, front- or back-channel logout,
//! refreshing upstream tokens (gatehouse uses the ID token once, at login, and keeps its own
//! session), and ID tokens signed with anything but RS256 or ES256.
//!
//! [`Person`]: crate::store::Person

pub mod discovery;
pub(crate) mod flow;
pub mod id_token;
pub mod identity;
pub mod provider;
pub mod state;
pub mod upstream;

pub use flow::{OidcFailure, OidcStart};

#[cfg(test)]
mod tests;
