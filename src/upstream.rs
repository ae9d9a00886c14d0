//! The core's [`Upstream`] on the Workers runtime: `fetch` to the identity provider, discovery
//! documents and JWK Sets cached per isolate and in KV for an hour, and signature checks
//! through WebCrypto.
//!
//! A document the core refuses is dropped from both caches at once and fetched again at most
//! every [`REFUSED_DOCUMENT_RETRY_SECS`] per isolate, so a fix at the provider is seen within
//! seconds, not after the hour a cached bad copy would last.
//!
//! A forced refetch (an ID token named a `kid` the cached JWK Set lacks) goes to the provider
//! at most once a minute per document and isolate; within that minute the cached copy answers,
//! so made-up key ids cannot turn gatehouse into a load generator against the provider.

use std::cell::RefCell;
use std::collections::HashMap;

use gatehouse_core::crypto::sha256_hex;
use gatehouse_core::jose::jwk::Jwk;
use gatehouse_core::jose::jws::Alg;
use gatehouse_core::jose::signer::JwkVerifier;
use gatehouse_core::oidc::{
    JWKS_REFETCH_MIN_SECS, REFUSED_DOCUMENT_RETRY_SECS, UPSTREAM_CACHE_SECS, Upstream,
    UpstreamError,
};
use worker::{Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::bindings::Bindings;
use crate::webcrypto;

/// The largest provider answer read (discovery, JWK Set, token response).
const MAX_UPSTREAM_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct Cached {
    fetched_at: u64,
    body: String,
    forced_at: Option<u64>,
}

thread_local! {
    static DOCUMENTS: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
    /// URL → when the core last refused its document.
    static REFUSED: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
}

/// Talks to identity providers from the Worker.
pub struct WorkerUpstream<'a> {
    bindings: &'a Bindings<'a>,
    now: u64,
}

impl<'a> WorkerUpstream<'a> {
    pub fn new(bindings: &'a Bindings<'a>, now: u64) -> Self {
        Self { bindings, now }
    }

    fn kv_key(url: &str) -> String {
        format!("oidc:doc:{}", sha256_hex(url.as_bytes()))
    }

    async fn fetch_document(&self, url: &str) -> Result<String, UpstreamError> {
        let headers = Headers::new();
        let _ = headers.set("Accept", "application/json");
        let mut init = RequestInit::new();
        init.with_method(Method::Get)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        let (status, body) = send(url, &init).await?;
        if status != 200 {
            return Err(UpstreamError(format!("{url} answered {status}")));
        }
        let cached = Cached {
            fetched_at: self.now,
            body: body.clone(),
            forced_at: None,
        };
        DOCUMENTS.with_borrow_mut(|docs| {
            let forced_at = docs.get(url).and_then(|d| d.forced_at);
            docs.insert(
                url.to_owned(),
                Cached {
                    forced_at,
                    ..cached
                },
            );
        });
        // The KV copy serves other isolates; failing to write it only costs them a fetch.
        if let Ok(kv) = self.bindings.kv()
            && let Ok(put) = kv.put(&Self::kv_key(url), body.as_str())
            && let Err(e) = put.expiration_ttl(UPSTREAM_CACHE_SECS).execute().await
        {
            worker::console_warn!("KV binding `KV`: caching {url}: {e}");
        }
        Ok(body)
    }
}

impl Upstream for WorkerUpstream<'_> {
    async fn get_document(&self, url: &str, refresh: bool) -> Result<String, UpstreamError> {
        let refused_at = REFUSED.with_borrow(|refused| refused.get(url).copied());
        if let Some(at) = refused_at {
            let age = self.now.saturating_sub(at);
            if age < REFUSED_DOCUMENT_RETRY_SECS {
                return Err(UpstreamError(format!(
                    "{url} was refused {age} s ago; fetched again {REFUSED_DOCUMENT_RETRY_SECS} s after that"
                )));
            }
            REFUSED.with_borrow_mut(|refused| refused.remove(url));
            return self.fetch_document(url).await;
        }
        let cached = DOCUMENTS.with_borrow(|docs| docs.get(url).cloned());
        if refresh {
            let recently_forced = cached
                .as_ref()
                .and_then(|c| c.forced_at)
                .is_some_and(|at| self.now.saturating_sub(at) < JWKS_REFETCH_MIN_SECS);
            if let (true, Some(cached)) = (recently_forced, &cached) {
                return Ok(cached.body.clone());
            }
            let body = self.fetch_document(url).await;
            // Counted whether or not the fetch succeeded, so a failing provider is not retried
            // on every request either.
            DOCUMENTS.with_borrow_mut(|docs| {
                if let Some(doc) = docs.get_mut(url) {
                    doc.forced_at = Some(self.now);
                }
            });
            return body;
        }
        if let Some(cached) =
            cached.filter(|c| self.now.saturating_sub(c.fetched_at) < UPSTREAM_CACHE_SECS)
        {
            return Ok(cached.body);
        }
        if let Ok(kv) = self.bindings.kv()
            && let Ok(Some(body)) = kv.get(&Self::kv_key(url)).text().await
        {
            DOCUMENTS.with_borrow_mut(|docs| {
                docs.insert(
                    url.to_owned(),
                    Cached {
                        fetched_at: self.now,
                        body: body.clone(),
                        forced_at: None,
                    },
                )
            });
            return Ok(body);
        }
        self.fetch_document(url).await
    }

    async fn refuse_document(&self, url: &str) {
        DOCUMENTS.with_borrow_mut(|docs| docs.remove(url));
        REFUSED.with_borrow_mut(|refused| refused.insert(url.to_owned(), self.now));
        if let Ok(kv) = self.bindings.kv()
            && let Err(e) = kv.delete(&Self::kv_key(url)).await
        {
            worker::console_warn!("KV binding `KV`: dropping the refused {url}: {e}");
        }
    }

    async fn post_form(
        &self,
        url: &str,
        body: &str,
        authorization: Option<&str>,
    ) -> Result<(u16, String), UpstreamError> {
        let headers = Headers::new();
        let set = |name, value| {
            headers
                .set(name, value)
                .map_err(|e| UpstreamError(format!("header {name}: {e}")))
        };
        set("Content-Type", "application/x-www-form-urlencoded")?;
        set("Accept", "application/json")?;
        if let Some(authorization) = authorization {
            set("Authorization", authorization)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(body.into()));
        send(url, &init).await
    }
}

impl JwkVerifier for WorkerUpstream<'_> {
    async fn verify_jwk(&self, key: &Jwk, alg: Alg, input: &[u8], signature: &[u8]) -> bool {
        // A key WebCrypto cannot import (a malformed modulus, say) verifies nothing.
        webcrypto::verify_jwk(key, alg, input, signature)
            .await
            .unwrap_or(false)
    }
}

/// Sends a request; the status and the body (cut off at [`MAX_UPSTREAM_BYTES`]).
async fn send(url: &str, init: &RequestInit) -> Result<(u16, String), UpstreamError> {
    let unreachable = |e: worker::Error| UpstreamError(format!("{url} unreachable: {e}"));
    let request = Request::new_with_init(url, init).map_err(unreachable)?;
    let mut response = Fetch::Request(request).send().await.map_err(unreachable)?;
    let status = response.status_code();
    let body = response.text().await.map_err(unreachable)?;
    if body.len() > MAX_UPSTREAM_BYTES {
        return Err(UpstreamError(format!("{url} answered more than 256 KiB")));
    }
    Ok((status, body))
}
