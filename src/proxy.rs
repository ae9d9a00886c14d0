//! Forwarding to the app's origin: the request streams through with the client's credentials
//! and gatehouse's cookies removed and an identity assertion added; the response streams back
//! without hop-by-hop headers. Which headers pass is decided in `gatehouse_core::gatekeeper`.

use std::cell::RefCell;
use std::collections::HashMap;

use gatehouse_core::gatekeeper::Identity;
use gatehouse_core::gatekeeper::assertion::{self, AssertionClaims};
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::signer::Signer;
use gatehouse_core::site::Site;
use gatehouse_core::time::UnixTime;
use worker::{
    Fetch, Fetcher, Headers, Request, RequestInit, RequestRedirect, Response, ResponseBody, Result,
};

use gatehouse_core::markdown;

use crate::http;
use crate::isolate_cache;
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

/// The headers the origin receives: the client's, filtered, plus the identity.
pub async fn origin_headers(
    req: &Incoming,
    forwarded: &Forwarded<'_>,
    signer: &impl Signer,
    now: UnixTime,
) -> Result<Headers> {
    let Forwarded {
        site,
        url,
        identity,
    } = *forwarded;
    let incoming = req.headers();
    let connection = incoming.get("Connection")?;
    let headers = Headers::new();
    for (name, value) in incoming.entries() {
        if name.eq_ignore_ascii_case("cookie") {
            if let Some(kept) = assertion::strip_gatehouse_cookies(&value) {
                headers.append("Cookie", &kept)?;
            }
        } else if assertion::forwards_request_header(&name, connection.as_deref()) {
            headers.append(&name, &value)?;
        }
    }
    if let Some(ip) = incoming.get("CF-Connecting-IP")? {
        headers.set("X-Forwarded-For", &ip)?;
    }
    // The Host the client used, port included (RFC 9110 §7.2).
    headers.set("X-Forwarded-Host", &url.authority())?;
    headers.set("X-Forwarded-Proto", url.scheme)?;
    if let Some(identity) = identity {
        headers.set(
            assertion::HEADER,
            &signed_assertion(site, identity, signer, now).await?,
        )?;
        for (name, value) in assertion::plain_headers(identity) {
            headers.set(name, &value)?;
        }
    }
    Ok(headers)
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
    let cached = ASSERTIONS.with_borrow(|cache| {
        cache
            .get(&key)
            .filter(|(_, until)| now < *until)
            .map(|(jwt, _)| jwt.clone())
    });
    if let Some(jwt) = cached {
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
    Service(&'a Fetcher),
}

/// Forwards `req` upstream with `headers`, streaming both bodies.
pub async fn forward(
    req: &Incoming,
    url: &RequestUrl<'_>,
    upstream: Upstream<'_>,
    headers: Headers,
) -> Result<Response> {
    let target = match (&upstream, url.query) {
        (Upstream::Url(origin), Some(query)) => format!("{origin}{}?{query}", url.path),
        (Upstream::Url(origin), None) => format!("{origin}{}", url.path),
        (Upstream::Service(_), _) => url.href.to_owned(),
    };
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    let request = Request::new_with_init(&target, &init)?;
    let answer = match upstream {
        Upstream::Url(_) => Fetch::Request(request).send().await,
        Upstream::Service(fetcher) => fetcher.fetch_request(request).await,
    };
    let upstream = match answer {
        Ok(response) => response,
        Err(error) => {
            worker::console_error!("origin of {target} unreachable: {error}");
            return http::json(
                502,
                &serde_json::json!({ "error": "bad_gateway", "error_description": "the app's origin did not answer" }),
            );
        }
    };
    let accept = req.headers().get("Accept")?;
    respond(upstream, accept.as_deref()).await
}

/// The client's response: the origin's status, headers minus hop-by-hop ones, and its body as a
/// stream, or converted to Markdown for an agent that prefers it.
async fn respond(mut upstream: Response, accept: Option<&str>) -> Result<Response> {
    let connection = upstream.headers().get("Connection")?;
    let content_type = upstream.headers().get("Content-Type")?;
    let headers = Headers::new();
    for (name, value) in upstream.headers().entries() {
        let planted =
            name.eq_ignore_ascii_case("set-cookie") && !assertion::forwards_set_cookie(&value);
        if assertion::forwards_response_header(&name, connection.as_deref()) && !planted {
            headers.append(&name, &value)?;
        }
    }
    let status = upstream.status_code();
    if markdown::is_html(content_type.as_deref()) {
        // The answer depends on Accept, so caches must key on it.
        headers.append("Vary", "Accept")?;
        if markdown::prefers_markdown(accept) {
            return to_markdown(&mut upstream, status, headers).await;
        }
    }
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(upstream.body().clone()))
}

async fn to_markdown(upstream: &mut Response, status: u16, headers: Headers) -> Result<Response> {
    let html = upstream.text().await?;
    let markdown = match markdown::html_to_markdown(&html) {
        Ok(markdown) => markdown,
        // Too large or too deep to convert within a request's budget: the agent gets the HTML.
        Err(_) => {
            return Ok(Response::builder()
                .with_status(status)
                .with_headers(headers)
                .body(ResponseBody::Body(html.into_bytes())));
        }
    };
    headers.set("Content-Type", markdown::MARKDOWN_CONTENT_TYPE)?;
    for stale in [
        "Content-Length",
        "Content-Encoding",
        "ETag",
        "Last-Modified",
    ] {
        headers.delete(stale)?;
    }
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .body(ResponseBody::Body(markdown.into_bytes())))
}
