//! The HTTP transport: one ureq agent that never follows redirects by itself (the client does,
//! applying the origin rules) and never turns a status into an error.

use crate::Error;
use serde::de::DeserializeOwned;
use std::time::Duration;
use ureq::http::{Method, Response};
use ureq::{Agent, Body};
use url::Url;

/// Metadata, registration and token responses are small; anything larger is refused.
pub const MAX_JSON_BYTES: u64 = 256 * 1024;

/// The HTTP client every request goes through.
#[derive(Clone)]
pub struct Http {
    agent: Agent,
}

/// A response whose body was read as JSON (or failed to be).
pub struct JsonResponse<T> {
    /// The status code.
    pub status: u16,
    /// The body, when it parsed as `T`.
    pub body: Option<T>,
}

impl Http {
    /// An agent with the given overall timeout per request.
    pub fn new(timeout: Duration) -> Self {
        let agent = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("gatehouse-fetch/", env!("CARGO_PKG_VERSION")))
            .allow_non_standard_methods(true)
            .build()
            .into();
        Http { agent }
    }

    /// Sends one request, exactly as given.
    pub fn send(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Response<Body>, Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method.clone())
            .uri(url.as_str());
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match body {
            Some(body) => builder.body(body.to_vec()).map(|r| self.agent.run(r)),
            None => builder.body(()).map(|r| self.agent.run(r)),
        };
        result
            .map_err(|e| Error::Usage(format!("cannot build the request: {e}")))?
            .map_err(Error::from)
    }

    /// `GET url` with `Accept: application/json`; the body as `T` when it parses.
    pub fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<JsonResponse<T>, Error> {
        let headers = [("accept".to_string(), "application/json".to_string())];
        let response = self.send(&Method::GET, url, &headers, None)?;
        read_json(response)
    }

    /// `POST url` with a form body (RFC 6749 Appendix B).
    pub fn post_form<T: DeserializeOwned>(
        &self,
        url: &Url,
        pairs: &[(&str, &str)],
    ) -> Result<JsonResponse<T>, Error> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let headers = [
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("accept".to_string(), "application/json".to_string()),
        ];
        read_json(self.send(&Method::POST, url, &headers, Some(body.as_bytes()))?)
    }

    /// `POST url` with a JSON body (RFC 7591 §3.1).
    pub fn post_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        body: &serde_json::Value,
    ) -> Result<JsonResponse<T>, Error> {
        let headers = [
            ("content-type".to_string(), "application/json".to_string()),
            ("accept".to_string(), "application/json".to_string()),
        ];
        read_json(self.send(
            &Method::POST,
            url,
            &headers,
            Some(body.to_string().as_bytes()),
        )?)
    }
}

fn read_json<T: DeserializeOwned>(mut response: Response<Body>) -> Result<JsonResponse<T>, Error> {
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_JSON_BYTES)
        .read_to_vec()?;
    Ok(JsonResponse {
        status,
        body: serde_json::from_slice(&bytes).ok(),
    })
}
