//! HTTP plumbing: reading bounded bodies and cookies, and turning core outcomes into responses
//! with the headers the RFCs ask for.

use futures_util::StreamExt as _;
use gatehouse_core::decision::DecisionLog;
use gatehouse_core::error::OAuthError;
use gatehouse_core::migration::Paused;
use gatehouse_core::server::Failure;
use serde::Serialize;
use worker::{Headers, Response, Result};

use crate::pages;
use crate::request::Incoming;

/// Seconds a client should wait after a `503` (storage outage).
const RETRY_AFTER_SECS: &str = "5";

/// A JSON response with `Cache-Control: no-store`: nothing gatehouse answers in JSON is meant to
/// be cached by an intermediary (RFC 6749 §5.1 requires it for tokens).
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let mut response = Response::from_json(body)?.with_status(status);
    response.headers_mut().set("Cache-Control", "no-store")?;
    response.headers_mut().set("Pragma", "no-cache")?;
    Ok(response)
}

/// A JSON document that may be cached briefly (discovery metadata, JWKS).
pub fn public_json<T: Serialize>(body: &T, max_age_secs: u32) -> Result<Response> {
    let body = serde_json::to_vec(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
    public_json_bytes(body, max_age_secs)
}

/// [`public_json`] of a document serialized already.
pub fn public_json_bytes(body: Vec<u8>, max_age_secs: u32) -> Result<Response> {
    let mut response = Response::from_bytes(body)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", &format!("public, max-age={max_age_secs}"))?;
    Ok(response)
}

/// An OAuth error body (RFC 6749 §5.2) with its status.
pub fn oauth_error(error: &OAuthError) -> Result<Response> {
    json(error.status(), &error.body())
}

/// A failed endpoint: the client's error, or `503` + `Retry-After` for a storage outage. The
/// reason is noted for the request's log line.
pub fn failure(decision: &DecisionLog, failure: Failure) -> Result<Response> {
    match failure {
        Failure::OAuth {
            error,
            basic_challenge,
        } => {
            let mut response = oauth_error(&decision.error(error))?;
            if error.status() == 503 {
                response
                    .headers_mut()
                    .set("Retry-After", RETRY_AFTER_SECS)?;
            }
            // RFC 6749 §5.2: a client that tried HTTP Basic gets a Basic challenge back.
            if basic_challenge {
                response
                    .headers_mut()
                    .set("WWW-Authenticate", "Basic realm=\"gatehouse\"")?;
            }
            Ok(response)
        }
        Failure::Store(error) => unavailable(&error.to_string()),
        Failure::Paused(paused) => {
            let error = decision.error(gatehouse_core::error::Reason::MigrationMode.into());
            with_retry_after(oauth_error(&error)?, paused)
        }
    }
}

/// The `503` page a browser gets for a step migration mode refuses.
pub fn paused_page(paused: Paused) -> Result<Response> {
    with_retry_after(page(503, pages::paused(paused.retry_after_secs))?, paused)
}

fn with_retry_after(response: Response, paused: Paused) -> Result<Response> {
    response
        .headers()
        .set("Retry-After", &paused.retry_after_secs.to_string())?;
    Ok(response)
}

/// `503` + `Retry-After`: storage is down; logged for the operator, generic for the client.
pub fn unavailable(log: &str) -> Result<Response> {
    worker::console_error!("storage unavailable: {log}");
    let mut response = oauth_error(&OAuthError::from(
        gatehouse_core::error::Reason::StoreUnavailable,
    ))?;
    response
        .headers_mut()
        .set("Retry-After", RETRY_AFTER_SECS)?;
    Ok(response)
}

/// The answer for a path gatehouse does not serve.
pub fn not_found() -> Result<Response> {
    json(
        404,
        &serde_json::json!({ "error": "not_found", "error_description": "no such endpoint" }),
    )
}

/// The answer for a known path and a method it does not serve.
pub fn method_not_allowed(allow: &str) -> Result<Response> {
    let mut response = json(
        405,
        &serde_json::json!({ "error": "invalid_request", "error_description": "method not allowed" }),
    )?;
    response.headers_mut().set("Allow", allow)?;
    Ok(response)
}

/// Reads the body, refusing more than `max` bytes (`Err` carries the `413` to send).
pub async fn body(
    req: &mut Incoming,
    max: usize,
) -> std::result::Result<Vec<u8>, Result<Response>> {
    let declared = req
        .header("Content-Length")
        .and_then(|l| l.parse::<usize>().ok());
    let malformed = || {
        Err(json(
            400,
            &OAuthError::from(gatehouse_core::error::Reason::MalformedBody).body(),
        ))
    };
    match declared {
        Some(len) if len > max => return Err(too_large()),
        // A declared length frames the body: the runtime delivers exactly that many bytes, and
        // when the body is also chunked it lets Transfer-Encoding win and drops the length
        // (RFC 9112 §6.3; e2e "a body that declares a small length but is sent chunked"). So it
        // can be read in one call, cheaper than the stream.
        Some(_) => {
            return match req.bytes().await {
                Ok(body) if body.len() > max => Err(too_large()),
                Ok(body) => Ok(body),
                Err(_) => malformed(),
            };
        }
        None => {}
    }
    // Read chunk by chunk and stop at the limit: a chunked body declares no length, and reading
    // it whole first would let a client make the Worker buffer anything it sends.
    let Ok(mut stream) = req.stream() else {
        return Ok(Vec::new());
    };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { return malformed() };
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> Result<Response> {
    json(
        413,
        &OAuthError::from(gatehouse_core::error::Reason::BodyTooLarge).body(),
    )
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(req: &Incoming, name: &str) -> Option<String> {
    let header = req.header("Cookie")?;
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// A `__Host-` cookie: `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, no `Domain`.
pub fn set_cookie(headers: &Headers, name: &str, value: &str, max_age_secs: u64) -> Result<()> {
    headers.append(
        "Set-Cookie",
        &format!("{name}={value}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax"),
    )
}

/// An HTML page with the headers every page carries.
pub fn page(status: u16, html: String) -> Result<Response> {
    let mut response = Response::from_html(html)?.with_status(status);
    let headers = response.headers_mut();
    headers.set("Content-Security-Policy", &pages::content_security_policy())?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("X-Frame-Options", "DENY")?;
    Ok(response)
}

/// A redirect to `location` (`302` after a GET, `303` after a form POST).
pub fn redirect(status: u16, location: &str) -> Result<Response> {
    let mut response = Response::empty()?.with_status(status);
    response.headers_mut().set("Location", location)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// CORS for endpoints that browser-based clients call (metadata, registration, token,
/// revocation, JWKS): any origin, no cookies. gatehouse never reads cookies on these endpoints,
/// so a cross-origin caller gains nothing it could not do from a server. A challenge
/// (`WWW-Authenticate`, on a failed client authentication) is not a CORS-safelisted response
/// header, so it is exposed where there is one (Fetch Standard, `Access-Control-Expose-Headers`);
/// elsewhere that header would say nothing, and every header costs the runtime CPU to write.
pub fn with_cors(mut response: Response) -> Result<Response> {
    let headers = response.headers_mut();
    headers.set("Access-Control-Allow-Origin", "*")?;
    if headers.has("WWW-Authenticate")? {
        headers.set("Access-Control-Expose-Headers", "WWW-Authenticate")?;
    }
    Ok(response)
}

/// The answer to a CORS preflight.
pub fn preflight() -> Result<Response> {
    let mut response = Response::empty()?.with_status(204);
    let headers = response.headers_mut();
    headers.set("Access-Control-Allow-Origin", "*")?;
    headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")?;
    headers.set(
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, MCP-Protocol-Version",
    )?;
    headers.set("Access-Control-Max-Age", "86400")?;
    Ok(response)
}
