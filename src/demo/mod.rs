//! The built-in demo app, served in place of an origin when an app has none (local development
//! only; configuration refuses it for a real host). It answers with what an origin would have
//! received from gatehouse, so a developer or an agent can see the whole flow offline:
//!
//! - `GET /` — an HTML page showing who is signed in and the identity headers;
//! - `GET /api/whoami` — the same as JSON;
//! - `POST /api/notes` — echoes the body, attributed to the person and the agent;
//! - `POST /mcp` — an MCP server (Streamable HTTP) with tools that show who is calling
//!   ([`mcp`]).

mod mcp;

use gatehouse_core::gatekeeper::assertion;
use gatehouse_core::http::reply::{Allow, Reply};
use gatehouse_core::paths;
use gatehouse_core::request_url::RequestUrl;
use gatehouse_core::site::Site;
use worker::{Headers, Method, Response, Result};

use crate::request::Incoming;
use crate::{http, pages};

/// Answers `req` as an origin would, given the `headers` gatehouse forwards.
pub async fn respond(
    req: &mut Incoming,
    url: &RequestUrl<'_>,
    site: &Site<'_>,
    headers: &Headers,
    csrf_token: &str,
) -> Result<Response> {
    let path = site.local_path(url.path).to_owned();
    match (req.endpoint_method(), path.as_str()) {
        (Some(Method::Get | Method::Head), "/") => {
            let page = pages::demo(
                &identity_rows(headers),
                &site.path(paths::AGENTS),
                &site.path(paths::LOGOUT),
                csrf_token,
            );
            http::write_with(Reply::page(200, page), |html, _| html)
        }
        (Some(Method::Get | Method::Head), "/api/whoami") => {
            http::write(Reply::json(200, &identity_json(headers)))
        }
        (Some(Method::Post), "/api/notes") => {
            let note = req.text().await?;
            let mut body = identity_json(headers);
            body.insert("saved".into(), serde_json::Value::String(note));
            http::write(Reply::json(201, &body))
        }
        (Some(Method::Post), "/mcp") => {
            let body = req.text().await?;
            match mcp::answer(&body, &identity_json(headers)) {
                mcp::Answer::Json(answer) => http::write(Reply::json(200, &answer)),
                mcp::Answer::Accepted => Ok(Response::empty()?.with_status(202)),
            }
        }
        // No server-sent event stream: the transport lets a server refuse GET with 405.
        (_, "/mcp") => http::write(Reply::method_not_allowed(Allow::Post)),
        _ => http::write(Reply::not_found()),
    }
}

/// The gatehouse headers, as (name, value) pairs, for display.
fn identity_rows(headers: &Headers) -> Vec<(String, String)> {
    headers
        .entries()
        .filter(|(name, _)| {
            name.to_ascii_lowercase()
                .starts_with(assertion::HEADER_PREFIX)
        })
        .collect()
}

fn identity_json(headers: &Headers) -> serde_json::Map<String, serde_json::Value> {
    identity_rows(headers)
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), serde_json::Value::String(value)))
        .collect()
}
