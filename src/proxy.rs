//! Forwarding to the app's origin: the request streams through with the client's credentials
//! and gatehouse's cookies removed and an identity assertion added; the response streams back
//! without hop-by-hop headers. Which headers pass is decided in `gatehouse_core::gatekeeper`.

use std::cell::RefCell;
use std::collections::HashMap;

use gatehouse_core::config::OriginIdentity;
use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::Identity;
use gatehouse_core::gatekeeper::access::{self, AccessClaims};
use gatehouse_core::gatekeeper::assertion::{self, AssertionClaims, HeaderEdit};
use gatehouse_core::http::reply::Reply;
use gatehouse_core::jose::signer::{AccessSigner, Signer};
use gatehouse_core::markdown::{self, Representation};
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::site::Site;
use gatehouse_core::time::UnixTime;
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::{Fetcher, Headers, Result};

use crate::header_list::HeaderList;
use crate::http;
use crate::isolate_cache;
use crate::random;
use crate::request::Incoming;

/// An isolate keeps at most this many signed assertions for reuse.
const MAX_ASSERTIONS: usize = 10_000;

thread_local! {
    /// identity key → (assertion JWT, reusable until).
    static ASSERTIONS: RefCell<HashMap<String, (String, UnixTime)>> = RefCell::new(HashMap::new());
}

/// What a forwarded request says about itself and its sender.
pub struct Forwarded<'a> {
    /// The app's site.
    pub site: &'a Site<'a>,
    /// The URL the client asked for.
    pub url: &'a RequestUrl<'a>,
    /// Who is asking, if anyone is logged in.
    pub identity: Option<&'a Identity>,
}

/// The headers the origin receives: the client's, filtered, plus the identity. They start as a
/// copy of the client's (one call into the runtime) and lose what must not pass, rather than
/// being rebuilt header by header.
pub async fn origin_headers(
    req: &Incoming,
    forwarded: &Forwarded<'_>,
    signer: &(impl Signer + AccessSigner),
    now: UnixTime,
) -> Result<Headers> {
    let Forwarded {
        site,
        url,
        identity,
    } = *forwarded;
    let incoming = req.headers();
    let headers = web_sys::Headers::new_with_headers(&req.inner().headers())?;
    apply(&headers, assertion::request_edits(&incoming.pairs()))?;
    if let Some(ip) = incoming.get("CF-Connecting-IP") {
        headers.set("X-Forwarded-For", ip)?;
    }
    // The Host the client used, port included (RFC 9110 §7.2).
    headers.set("X-Forwarded-Host", &url.authority())?;
    headers.set("X-Forwarded-Proto", url.scheme)?;
    let Some(identity) = identity else {
        return Ok(Headers(headers));
    };
    match &site.app.identity {
        OriginIdentity::Gatehouse => {
            headers.set(
                assertion::HEADER,
                &signed_assertion(site, identity, signer, now).await?,
            )?;
        }
        // Access's headers instead of `Gatehouse-Assertion`: the application token carries the
        // same person and agent, and one signature per identity is enough.
        OriginIdentity::CloudflareAccess { audience } => {
            let country = req.country();
            let jwt = signed_access_token(site, audience, identity, country, signer, now).await?;
            let kept = headers.get("Cookie")?;
            for (name, value) in access::headers(identity, &jwt, kept.as_deref()) {
                headers.set(name, &value)?;
            }
        }
    }
    for (name, value) in assertion::plain_headers(identity) {
        headers.set(name, &value)?;
    }
    Ok(Headers(headers))
}

/// The Access-compatible application token for `identity`, signed once and reused while it has
/// time to live, like [`signed_assertion`].
async fn signed_access_token(
    site: &Site<'_>,
    audience: &[String],
    identity: &Identity,
    country: Option<String>,
    signer: &impl AccessSigner,
    now: UnixTime,
) -> Result<String> {
    let who = match &identity.agent {
        Some(agent) => format!("{}|{}", agent.grant_id, identity.scopes),
        None => identity.person.subject.clone(),
    };
    let key = format!(
        "access|{}|{who}|{}",
        site.resource,
        country.as_deref().unwrap_or_default()
    );
    if let Some(jwt) = kept_assertion(&key, now) {
        return Ok(jwt);
    }
    let nonce = random::hex::<16>()?;
    let claims = AccessClaims::new(site, audience, identity, nonce, country, now);
    let jwt = access::sign(signer, &claims)
        .await
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let until = access::reusable_until(&claims);
    isolate_cache::insert(&ASSERTIONS, MAX_ASSERTIONS, key, (jwt.clone(), until));
    Ok(jwt)
}

/// An assertion this isolate signed under `key` that still has time to live.
fn kept_assertion(key: &str, now: UnixTime) -> Option<String> {
    ASSERTIONS.with_borrow(|cache| {
        cache
            .get(key)
            .filter(|(_, until)| now < *until)
            .map(|(jwt, _)| jwt.clone())
    })
}

/// The assertion for `identity`, signed once and reused while it has time to live.
async fn signed_assertion(
    site: &Site<'_>,
    identity: &Identity,
    signer: &impl Signer,
    now: UnixTime,
) -> Result<String> {
    let key = match &identity.agent {
        Some(agent) => format!("{}|{}|{}", site.resource, agent.grant_id, identity.scopes),
        None => format!("{}|{}", site.resource, identity.person.subject),
    };
    if let Some(jwt) = kept_assertion(&key, now) {
        return Ok(jwt);
    }
    let claims = AssertionClaims::new(site, identity, now);
    let jwt = assertion::sign(signer, &claims)
        .await
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let until = assertion::reusable_until(&claims);
    isolate_cache::insert(&ASSERTIONS, MAX_ASSERTIONS, key, (jwt.clone(), until));
    Ok(jwt)
}

/// Where a request goes.
pub enum Upstream<'a> {
    /// An origin URL (`scheme://host[:port][/base]`): the request's path and query are appended.
    Url(&'a str),
    /// A Worker behind a service binding: it sees the URL the client used.
    Service(Fetcher),
}

/// Forwards `req` upstream with `headers`, streaming both bodies. The runtime's own `Request`
/// and `Response` are used as they are: wrapping them in `worker`'s types reads and rebuilds
/// every part (status, headers, `cf`, body) for nothing.
pub async fn forward(
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: Upstream<'_>,
    headers: Headers,
) -> Result<web_sys::Response> {
    let target = match (&upstream, url.query) {
        (Upstream::Url(origin), Some(query)) => format!("{origin}{}?{query}", url.path),
        (Upstream::Url(origin), None) => format!("{origin}{}", url.path),
        (Upstream::Service(_), _) => url.href.to_owned(),
    };
    let init = web_sys::RequestInit::new();
    init.set_method(req.method());
    init.set_headers(&headers.0);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = req.body() {
        init.set_body(body);
    }
    // The method, headers and body are the client's: one the runtime's Fetch cannot send (a
    // method it forbids or does not know) is the client's request, not a fault of gatehouse.
    let request = match web_sys::Request::new_with_str_and_init(&target, &init) {
        Ok(request) => request,
        Err(error) => {
            worker::console_warn!("not forwardable to {target}: {error:?}");
            return http::write(Reply::error(&Reason::NotForwardable.into())).map(Into::into);
        }
    };
    let sent = match upstream {
        Upstream::Url(_) => js_sys::global()
            .unchecked_into::<web_sys::WorkerGlobalScope>()
            .fetch_with_request(&request),
        // `into_rpc` is `worker`'s one way to the binding's JavaScript object, whose `fetch`
        // takes the runtime's `Request` as it is.
        Upstream::Service(fetcher) => fetcher
            .into_rpc::<worker::worker_sys::Fetcher>()
            .fetch(&request)?,
    };
    let answer = match JsFuture::from(sent).await {
        Ok(answer) => answer.unchecked_into::<web_sys::Response>(),
        Err(error) => {
            worker::console_error!("origin of {target} unreachable: {error:?}");
            return http::write(Reply::error(&Reason::OriginUnreachable.into())).map(Into::into);
        }
    };
    respond(answer, req.header("Accept").as_deref()).await
}

/// The client's response: the origin's status, headers minus hop-by-hop ones, and its body as a
/// stream, or converted to Markdown for an agent that prefers it (`gatehouse_core::markdown`
/// decides which, and the headers). An answer with nothing to remove or add goes back to the
/// client untouched.
async fn respond(upstream: web_sys::Response, accept: Option<&str>) -> Result<web_sys::Response> {
    let received = HeaderList::read(&upstream.headers());
    let status = upstream.status();
    let representation = markdown::representation(
        accept,
        status,
        received.get("Content-Type"),
        received.get("Content-Length"),
        gatehouse_markdown::MAX_SOURCE_BYTES as u64,
    );
    let mut edits = assertion::response_edits(&received.pairs());
    edits.extend(markdown::header_edits(representation));
    if edits.is_empty() {
        return Ok(upstream);
    }
    let headers = web_sys::Headers::new_with_headers(&upstream.headers())?;
    apply(&headers, edits)?;
    if representation == Representation::Markdown {
        return crate::markdown::convert(&upstream, status, headers);
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        upstream.body().as_ref(),
        &init,
    )?)
}

/// Carries out the core's `edits` on `headers`.
fn apply(headers: &web_sys::Headers, edits: Vec<HeaderEdit<'_>>) -> Result<()> {
    for edit in edits {
        match edit {
            HeaderEdit::Delete(name) => headers.delete(name)?,
            HeaderEdit::Set(name, value) => headers.set(name, &value)?,
            HeaderEdit::Append(name, value) => headers.append(name, value)?,
        }
    }
    Ok(())
}
