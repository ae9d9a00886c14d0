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

/// How long an idle keep-alive connection may wait in the pool and still be reused.
///
/// A server may close an idle connection at any moment (RFC 9112 §9.6), and a request sent on it
/// just then fails with no reply. A client must not retry a non-idempotent request on its own
/// (RFC 9112 §9.3.1.1), and the token poll of the device grant is a `POST` sent exactly one poll
/// interval (5 s by default, RFC 8628 §3.2) after the previous request: the very idle time after
/// which Node's HTTP server, and Apache's default, close the connection. Reusing only connections
/// idle for less than that keeps every request off a connection the server is closing; one TCP
/// handshake per poll is nothing next to the interval.
pub const MAX_IDLE_REUSE: Duration = Duration::from_secs(3);

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
            .max_idle_age(MAX_IDLE_REUSE)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{Ipv4Addr, TcpListener, TcpStream};

    /// A server that answers the first request on each connection with keep-alive, and closes a
    /// connection without a reply when a second request arrives on it: what a request that races
    /// the server's idle timeout sees.
    fn server_that_closes_reused_connections() -> Url {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer_once(stream));
            }
        });
        url
    }

    fn answer_once(stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
            line.clear();
        }
        let mut stream = stream;
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        // The next request on this connection gets no reply: the socket closes once it arrives.
        let _ = reader.read_line(&mut line);
    }

    #[test]
    fn a_connection_idle_past_the_reuse_limit_is_not_reused() {
        let url = server_that_closes_reused_connections();
        let http = Http::new(Duration::from_secs(10));
        assert_eq!(
            http.get_json::<serde_json::Value>(&url).unwrap().status,
            200
        );
        std::thread::sleep(MAX_IDLE_REUSE + Duration::from_millis(200));
        let second = http.post_form::<serde_json::Value>(&url, &[("grant_type", "x")]);
        assert_eq!(
            second.unwrap().status,
            200,
            "the second request went on a fresh connection"
        );
    }
}
