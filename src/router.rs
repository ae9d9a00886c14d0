//! Dispatches a request to its handler by method and path.

use worker::{Env, Method, Request, Response, Result};

use crate::{health, http};

/// The health endpoint: a real round trip to every binding.
pub const HEALTHZ: &str = "/healthz";

pub async fn route(req: Request, env: &Env) -> Result<Response> {
    match (req.method(), req.path().as_str()) {
        (Method::Get, HEALTHZ) => {
            let report = health::check(env).await;
            http::json(report.status(), &report)
        }
        _ => http::not_found(),
    }
}
