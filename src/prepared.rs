//! Responses an isolate builds once and answers many times: discovery documents, and the `401`
//! challenge of a request that brings no credentials. Both depend only on the deployment and the
//! URL, and both are what anyone can ask for as often as they like.
//!
//! A prepared response keeps its status, headers and body as the runtime's own objects, so each
//! answer is a single `new Response(body, init)`. Building it afresh costs a dozen calls from
//! wasm into the runtime (one per header, the body copied out of wasm, the init object) and the
//! serialization: discovery costs 0.93× what it did before, measured in one run
//! (bench/README.md, "Latest run").

use std::cell::RefCell;
use std::collections::HashMap;

use worker::worker_sys::web_sys;
use worker::{Response, ResponseBody, Result};

use crate::isolate_cache;
use crate::request::Incoming;

/// An isolate keeps at most this many prepared responses (one per app and document, and one
/// challenge per app; more only when an app's `host` is a pattern that many names match).
const MAX_PREPARED: usize = 512;

thread_local! {
    static PREPARED: RefCell<HashMap<String, Prepared>> = RefCell::new(HashMap::new());
}

/// What kind of response a key names: keys of different kinds never meet.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A discovery document, keyed by its URL.
    Document,
    /// The challenge to a request without credentials, keyed by its `WWW-Authenticate`.
    Challenge,
    /// The same challenge, keyed by the shape of a request it answered ([`anonymous_key`]).
    Anonymous,
}

#[derive(Clone)]
struct Prepared {
    init: web_sys::ResponseInit,
    body: Option<js_sys::Uint8Array>,
}

/// The response of `kind` under `key`, if this isolate prepared it already.
pub fn answer(kind: Kind, key: &str) -> Option<Result<web_sys::Response>> {
    PREPARED.with_borrow(|prepared| prepared.get(&cache_key(kind, key)).map(Prepared::respond))
}

/// Keeps `response` (whose body is bytes, or none) under `key`, and answers with it.
pub fn keep(kind: Kind, key: &str, response: Response) -> Result<web_sys::Response> {
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status_code());
    init.set_headers(&response.headers().0);
    let body = match response.body() {
        ResponseBody::Body(bytes) => Some(js_sys::Uint8Array::from(bytes.as_slice())),
        _ => None,
    };
    let prepared = Prepared { init, body };
    let answer = prepared.respond();
    isolate_cache::insert(&PREPARED, MAX_PREPARED, cache_key(kind, key), prepared);
    answer
}

/// Keeps what `kind` `key` names under `alias_kind` `alias` too, if this isolate holds it.
pub fn alias(kind: Kind, key: &str, alias_kind: Kind, alias: &str) {
    let Some(prepared) =
        PREPARED.with_borrow(|prepared| prepared.get(&cache_key(kind, key)).cloned())
    else {
        return;
    };
    isolate_cache::insert(
        &PREPARED,
        MAX_PREPARED,
        cache_key(alias_kind, alias),
        prepared,
    );
}

/// The headers besides `Authorization` and `Cookie` that the gate reads of a request
/// (`gatekeeper::GateRequest`): with the URL, the method and whether there is a body, they
/// decide its answer to a request without credentials.
pub const ANONYMOUS_HEADERS: [&str; 3] =
    ["Accept", "Sec-Fetch-Mode", "Access-Control-Request-Method"];

/// The shape of a request that carries no credentials: its method, whether it has a body, the
/// [`ANONYMOUS_HEADERS`] and its URL, which is everything the answer to it depends on (the
/// configuration changes only with a deployment, which starts new isolates). `None` for a
/// request with an `Authorization` header or cookies.
///
/// The router answers a request whose shape this isolate challenged already before routing
/// it, which saves the routing, the app's resolution and the gate's checks on the most frequent
/// request anyone can send (profiled: ~40 % of the isolate's own work on a `401`). Keys stay
/// exact: a request of another shape, however close, goes the whole way. Each distinct URL is
/// one entry, so the cache's bound (`MAX_PREPARED`) is what a client spraying URLs meets.
pub fn anonymous_key(req: &Incoming, href: &str) -> Option<String> {
    if req.has_credentials() {
        return None;
    }
    // Header values hold no newline (RFC 9110 §5.5) and a method is a token: `\n` separates
    // the parts, and `+`/`-` tells a header present (even empty) from one absent.
    let mut key = format!("{}\n{}", req.method(), u8::from(req.has_body()));
    for name in ANONYMOUS_HEADERS {
        match req.header(name) {
            Some(value) => {
                key.push_str("\n+");
                key.push_str(&value);
            }
            None => key.push_str("\n-"),
        }
    }
    key.push('\n');
    key.push_str(href);
    Some(key)
}

fn cache_key(kind: Kind, key: &str) -> String {
    let prefix = match kind {
        Kind::Document => 'D',
        Kind::Challenge => 'C',
        Kind::Anonymous => 'A',
    };
    format!("{prefix}{key}")
}

impl Prepared {
    /// A new `Response` of the kept parts. The runtime copies the body and the headers into
    /// each response it constructs (Fetch Standard, "initialize a response"), so the kept
    /// objects are never shared with a response that could change them.
    fn respond(&self) -> Result<web_sys::Response> {
        Ok(web_sys::Response::new_with_opt_buffer_source_and_init(
            self.body.as_deref(),
            &self.init,
        )?)
    }
}
