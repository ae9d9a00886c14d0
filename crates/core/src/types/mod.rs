//! Protocol values with rules, one type per file; each is built only by parsing untrusted text
//! (`T::parse` / `FromStr`) and hands back its exact text with `as_str()`.
//!
//! Secrets (codes, tokens, client secrets) are not here but in [`crate::secret`]; PKCE values
//! are in `crate::pkce`.

mod client_id;
mod redirect_uri;
mod resource;
mod scope;
mod state;
mod uri;

pub use client_id::{ClientId, MAX_CLIENT_ID_BYTES};
pub use redirect_uri::{MAX_REDIRECT_URI_BYTES, Matching, RedirectUri};
pub use resource::{MAX_RESOURCE_BYTES, ResourceUri};
pub use scope::{MAX_SCOPE_BYTES, MAX_SCOPES, Scope, Scopes};
pub use state::{MAX_STATE_BYTES, State};
