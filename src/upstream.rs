//! The core's outbound requests on the Workers runtime: [`WorkerFetch`], the one
//! implementation of `net::Fetch` (`fetch` with `redirect: manual`, aborted after
//! `net::TIMEOUT_MS`, the body read up to the caller's cap and no further), used for Client ID
//! Metadata Documents and clients' `jwks_uri` (`store::cimd`) and for identity providers; and
//! the core's [`Upstream`]: discovery documents and JWK Sets cached per isolate and in KV for
//! an hour, and signature checks through WebCrypto.
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

use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::{Either, select};
use gatehouse_core::crypto::sha256_hex;
use gatehouse_core::jose::alg::Alg;
use gatehouse_core::jose::jwk::Jwk;
use gatehouse_core::jose::signer::JwkVerifier;
use gatehouse_core::net::{self, Fetch, FetchError, FetchedDocument, SafeUrl};
use gatehouse_core::oidc::upstream::{
    JWKS_REFETCH_MIN_SECS, MAX_UPSTREAM_BYTES, REFUSED_DOCUMENT_RETRY_SECS, UPSTREAM_CACHE_SECS,
    Upstream, UpstreamError,
};
use worker::{AbortController, Delay, Headers, Method, Request, RequestInit, RequestRedirect};

use crate::bindings::Bindings;
use crate::webcrypto;

/// `net::Fetch` on the Workers runtime's `fetch`.
pub struct WorkerFetch;

impl Fetch for WorkerFetch {
    async fn get(&self, url: &SafeUrl, max_bytes: usize) -> Result<FetchedDocument, FetchError> {
        let headers = Headers::new();
        let failed = |e: worker::Error| FetchError(format!("{url}: {e}"));
        headers.set("Accept", "application/json").map_err(failed)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get).with_headers(headers);
        send(url, init, max_bytes).await
    }

    async fn post_form(
        &self,
        url: &SafeUrl,
        body: &str,
        authorization: Option<&str>,
        max_bytes: usize,
    ) -> Result<FetchedDocument, FetchError> {
        let headers = Headers::new();
        let failed = |e: worker::Error| FetchError(format!("{url}: {e}"));
        headers
            .set("Content-Type", "application/x-www-form-urlencoded")
            .map_err(failed)?;
        headers.set("Accept", "application/json").map_err(failed)?;
        if let Some(authorization) = authorization {
            headers
                .set("Authorization", authorization)
                .map_err(failed)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        send(url, init, max_bytes).await
    }
}

/// Sends one request without following redirects, abandoned after `net::TIMEOUT_MS`.
async fn send(
    url: &SafeUrl,
    mut init: RequestInit,
    max_bytes: usize,
) -> Result<FetchedDocument, FetchError> {
    init.with_redirect(RequestRedirect::Manual);
    let controller = AbortController::default();
    let request = Box::pin(send_once(url, init, controller.signal(), max_bytes));
    let timeout = Box::pin(Delay::from(Duration::from_millis(u64::from(
        net::TIMEOUT_MS,
    ))));
    match select(request, timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            controller.abort();
            Err(FetchError(format!("{url} timed out")))
        }
    }
}

/// The response's status and caching headers, and its body read up to one chunk past
/// `max_bytes`.
async fn send_once(
    url: &SafeUrl,
    init: RequestInit,
    signal: worker::AbortSignal,
    max_bytes: usize,
) -> Result<FetchedDocument, FetchError> {
    let failed = |e: worker::Error| FetchError(format!("{url}: {e}"));
    let request = Request::new_with_init(url.as_str(), &init).map_err(failed)?;
    let mut response = worker::Fetch::Request(request)
        .send_with_signal(&signal)
        .await
        .map_err(failed)?;
    let header = |name: &str| response.headers().get(name).ok().flatten();
    let mut document = FetchedDocument {
        status: response.status_code(),
        content_type: header("Content-Type"),
        cache_control: header("Cache-Control"),
        expires: header("Expires"),
        body: Vec::new(),
    };
    // A redirect's body is not read: callers refuse the response by its status.
    if !(300..400).contains(&document.status) {
        let mut stream = response.stream().map_err(failed)?;
        while let Some(chunk) = stream.next().await {
            document.body.extend(chunk.map_err(failed)?);
            if document.body.len() > max_bytes {
                // The caller refuses it as too large; reading on would only cost memory.
                break;
            }
        }
    }
    Ok(document)
}

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

    async fn fetch_document(&self, url: &SafeUrl) -> Result<String, UpstreamError> {
        let response = WorkerFetch
            .get(url, MAX_UPSTREAM_BYTES)
            .await
            .map_err(|e| UpstreamError(e.0))?;
        if response.status != 200 {
            return Err(UpstreamError(format!("{url} answered {}", response.status)));
        }
        if response.body.len() > MAX_UPSTREAM_BYTES {
            return Err(UpstreamError(format!("{url} answered more than 256 KiB")));
        }
        let body = String::from_utf8(response.body)
            .map_err(|_| UpstreamError(format!("{url} answered with a body that is not UTF-8")))?;
        let url = url.as_str();
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

impl Fetch for WorkerUpstream<'_> {
    async fn get(&self, url: &SafeUrl, max_bytes: usize) -> Result<FetchedDocument, FetchError> {
        WorkerFetch.get(url, max_bytes).await
    }

    async fn post_form(
        &self,
        url: &SafeUrl,
        body: &str,
        authorization: Option<&str>,
        max_bytes: usize,
    ) -> Result<FetchedDocument, FetchError> {
        WorkerFetch
            .post_form(url, body, authorization, max_bytes)
            .await
    }
}

impl Upstream for WorkerUpstream<'_> {
    async fn get_document(&self, safe: &SafeUrl, refresh: bool) -> Result<String, UpstreamError> {
        let url = safe.as_str();
        let refused_at = REFUSED.with_borrow(|refused| refused.get(url).copied());
        if let Some(at) = refused_at {
            let age = self.now.saturating_sub(at);
            if age < REFUSED_DOCUMENT_RETRY_SECS {
                return Err(UpstreamError(format!(
                    "{url} was refused {age} s ago; fetched again {REFUSED_DOCUMENT_RETRY_SECS} s after that"
                )));
            }
            REFUSED.with_borrow_mut(|refused| refused.remove(url));
            return self.fetch_document(safe).await;
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
            let body = self.fetch_document(safe).await;
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
        self.fetch_document(safe).await
    }

    async fn refuse_document(&self, url: &SafeUrl) {
        let url = url.as_str();
        DOCUMENTS.with_borrow_mut(|docs| docs.remove(url));
        REFUSED.with_borrow_mut(|refused| refused.insert(url.to_owned(), self.now));
        if let Ok(kv) = self.bindings.kv()
            && let Err(e) = kv.delete(&Self::kv_key(url)).await
        {
            worker::console_warn!("KV binding `KV`: dropping the refused {url}: {e}");
        }
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
