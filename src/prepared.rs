//! Responses an isolate builds once and answers many times: discovery documents, and the `401`
//! challenge of a request that brings no credentials. Both depend only on the deployment and the
//! URL (for the challenge, with the method and path deciding the scopes it names), and both are
//! what anyone can ask for as often as they like. The challenge is also found by the shape of
//! the requests it answered ([`anonymous_key`]), in a cache of its own.
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

use gatehouse_core::gatekeeper::request::{READ_HEADERS, anonymous_shape};

use crate::isolate_cache;
use crate::request::Incoming;

/// An isolate keeps at most this many prepared responses (one per app and document, and one
/// challenge per app, host and scopes named; more only when an app's `host` is a pattern that
/// many names match).
const MAX_PREPARED: usize = 512;

/// An isolate keeps at most this many request shapes, each naming a prepared challenge. Anyone
/// can send new shapes, so they have a cache of their own: spraying them empties only this one,
/// never the documents and challenges every client is answered from.
const MAX_SHAPES: usize = 512;

/// A longer shape is not kept (its request is routed every time): with the bound above, the
/// shapes hold at most ~1 MiB whatever the platform lets a request's URL and headers weigh.
const MAX_SHAPE_BYTES: usize = 2048;

thread_local! {
    static PREPARED: RefCell<HashMap<String, Prepared>> = RefCell::new(HashMap::new());
    static SHAPES: RefCell<HashMap<String, Prepared>> = RefCell::new(HashMap::new());
}

/// What kind of response a key names: keys of different kinds never meet.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A discovery document, keyed by its URL.
    Document,
    /// The challenge to a request without credentials, keyed by its status and
    /// `WWW-Authenticate`.
    Challenge,
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

/// The challenge this isolate gave a request of `shape` ([`anonymous_key`]), if any.
pub fn shape_answer(shape: &str) -> Option<Result<web_sys::Response>> {
    SHAPES.with_borrow(|shapes| shapes.get(shape).map(Prepared::respond))
}

/// Keeps the challenge prepared under `key` ([`Kind::Challenge`]) for requests of `shape` too,
/// unless the shape is longer than [`MAX_SHAPE_BYTES`].
pub fn keep_shape(key: &str, shape: &str) {
    if shape.len() > MAX_SHAPE_BYTES {
        return;
    }
    let prepared =
        PREPARED.with_borrow(|prepared| prepared.get(&cache_key(Kind::Challenge, key)).cloned());
    if let Some(prepared) = prepared {
        isolate_cache::insert(&SHAPES, MAX_SHAPES, shape.to_owned(), prepared);
    }
}

/// The shape of a request that carries no credentials (`gatekeeper::request::anonymous_shape`:
/// for a request the gate challenged, everything the challenge depends on); `None` for a request
/// with an `Authorization` header or cookies.
///
/// The router answers a request whose shape this isolate challenged already before routing
/// it, which saves the routing, the app's resolution and the gate's checks on the most frequent
/// request anyone can send (`bench/ab.mjs`: the `401` at about 0.95× the CPU without this). Keys stay
/// exact: a request of another shape, however close, goes the whole way. Each distinct shape is
/// one entry of [`MAX_SHAPES`], of at most [`MAX_SHAPE_BYTES`].
pub fn anonymous_key(req: &Incoming, href: &str) -> Option<String> {
    if req.has_credentials() {
        return None;
    }
    let headers = READ_HEADERS.map(|name| req.header(name));
    Some(anonymous_shape(
        req.method(),
        req.has_body(),
        headers.each_ref().map(Option::as_deref),
        href,
    ))
}

fn cache_key(kind: Kind, key: &str) -> String {
    let prefix = match kind {
        Kind::Document => 'D',
        Kind::Challenge => 'C',
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
