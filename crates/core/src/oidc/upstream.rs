//! What gatehouse asks of the platform to talk to a provider: its requests, a cache of its
//! documents, and signature checks under its keys; with the limits that bound each.

use crate::jose::signer::JwkVerifier;
use crate::net::{Fetch, SafeUrl};

/// A forced JWKS refetch (an ID token named an unknown `kid`) happens at most this often per
/// provider, so that tokens with made-up key ids cannot make gatehouse hammer the provider.
pub const JWKS_REFETCH_MIN_SECS: u64 = 60;
/// Discovery documents and JWK Sets are cached this long.
pub const UPSTREAM_CACHE_SECS: u64 = 3600;
/// A document gatehouse refused (say, a discovery document naming another issuer) is fetched
/// again at most this often per isolate: soon enough that a fix at the provider or in the
/// configuration takes effect within seconds, rarely enough that failing logins cannot turn
/// gatehouse into a load generator against the provider.
pub const REFUSED_DOCUMENT_RETRY_SECS: u64 = 5;

/// The provider could not be reached, or answered with something other than a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamError(pub String);

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The largest answer read from a provider (discovery document, JWK Set, token response), in
/// bytes.
pub const MAX_UPSTREAM_BYTES: usize = 256 * 1024;

/// The platform's side of talking to a provider: its requests ([`Fetch`], to endpoints that
/// passed the outbound rule), a cache of its documents, and verifying its signatures under the
/// keys it publishes ([`JwkVerifier`]).
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait Upstream: Fetch + JwkVerifier {
    /// The body of a JSON document (discovery, JWK Set) that answered `200` to a `GET` through
    /// [`Fetch::get`]. With `refresh` false a cached copy (at most [`UPSTREAM_CACHE_SECS`] old)
    /// may answer; with `true` the document is fetched again, unless it was force-fetched
    /// within [`JWKS_REFETCH_MIN_SECS`].
    async fn get_document(&self, url: &SafeUrl, refresh: bool) -> Result<String, UpstreamError>;
    /// The document `get_document` gave for `url` failed validation: no cached copy of it may
    /// answer again, and it is fetched afresh at most once per [`REFUSED_DOCUMENT_RETRY_SECS`]
    /// (until then `get_document` fails without a request). Only documents that passed
    /// validation are kept.
    async fn refuse_document(&self, url: &SafeUrl);
}
