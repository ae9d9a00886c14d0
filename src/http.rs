//! Turning core results into `worker::Response`s.

use serde::Serialize;
use worker::{Response, Result};

/// A JSON response with the given status and `Cache-Control: no-store`: nothing gatehouse
/// answers in JSON is meant to be cached by an intermediary.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    let mut response = Response::from_json(body)?.with_status(status);
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// The answer for a path gatehouse does not serve.
pub fn not_found() -> Result<Response> {
    json(
        404,
        &serde_json::json!({ "error": "not_found", "error_description": "no such endpoint" }),
    )
}
