//! The loopback redirect listener (RFC 8252 §7.3): a one-shot HTTP listener on `127.0.0.1` and
//! an ephemeral port that waits, with a timeout, for the authorization response.
//!
//! Anything can connect to a loopback port, so every request is judged on its own:
//! only `GET /callback` with exactly our `state` counts; a wrong or missing `state` is answered
//! and ignored (another process guessing cannot end our wait or inject a code); a matching
//! `state` with an `iss` other than the issuer we started with is a mix-up (RFC 9207 §2.4) and
//! ends the authorization without a code.

use crate::Error;
use crate::secret::Secret;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};
use url::Url;

/// The callback path in the registered redirect URI.
pub const CALLBACK_PATH: &str = "/callback";
/// A request head larger than this is not a browser's redirect.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// How long one connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// What the authorization response says, once state and issuer are checked.
#[derive(Debug)]
pub enum Callback {
    /// A code for our request.
    Code(Secret),
    /// The server's error for our request (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    Refused(String),
    /// Our state, but an issuer other than ours, or none where the server promised one.
    MixUp(String),
    /// Not ours (another path, state, or a malformed query): ignored.
    Ignored,
}

/// Judges one request target (`/callback?…`) against our `state` and `issuer` (RFC 9207).
pub fn judge(target: &str, state: &str, issuer: &str, iss_required: bool) -> Callback {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != CALLBACK_PATH {
        return Callback::Ignored;
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        // RFC 6749 §3.1: parameters must not be included more than once.
        if fields.iter().any(|(seen, _)| *seen == k) {
            return Callback::Ignored;
        }
        fields.push((k.into_owned(), v.into_owned()));
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != Some(state) {
        return Callback::Ignored;
    }
    match get("iss") {
        Some(iss) if iss != issuer => {
            return Callback::MixUp(format!("the response names issuer {iss:?}, not {issuer:?}"));
        }
        None if iss_required => {
            return Callback::MixUp(
                "the response carries no iss although the server promised it".into(),
            );
        }
        _ => {}
    }
    if let Some(error) = get("error") {
        let description = get("error_description")
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return Callback::Refused(format!("{error}{description}"));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Callback::Code(Secret::new(code.to_owned())),
        _ => Callback::Ignored,
    }
}

/// A bound listener; its redirect URI names the port.
pub struct Listener {
    socket: TcpListener,
    redirect_uri: Url,
}

impl Listener {
    /// Binds `127.0.0.1` on a port the OS picks.
    pub fn bind() -> Result<Self, Error> {
        let socket = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::Authorization(format!("cannot listen on 127.0.0.1: {e}")))?;
        let port = socket
            .local_addr()
            .map_err(|e| Error::Authorization(e.to_string()))?
            .port();
        socket
            .set_nonblocking(true)
            .map_err(|e| Error::Authorization(e.to_string()))?;
        let redirect_uri = Url::parse(&format!("http://127.0.0.1:{port}{CALLBACK_PATH}"))
            .map_err(|e| Error::Authorization(e.to_string()))?;
        Ok(Listener {
            socket,
            redirect_uri,
        })
    }

    /// The redirect URI to send in the authorization and token requests.
    pub fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for our authorization response; returns the code.
    pub fn wait(
        &self,
        state: &Secret,
        issuer: &str,
        iss_required: bool,
        timeout: Duration,
    ) -> Result<Secret, Error> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let stream = match self.socket.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(ACCEPT_POLL);
                    continue;
                }
                Err(e) => {
                    return Err(Error::Authorization(format!(
                        "loopback listener failed: {e}"
                    )));
                }
            };
            let verdict = read_target(&stream)
                .map(|target| judge(&target, state.expose_secret(), issuer, iss_required))
                .unwrap_or(Callback::Ignored);
            let (status, message) = match &verdict {
                Callback::Code(_) => (
                    "200 OK",
                    "Authorization complete. You can close this window and return to the terminal.",
                ),
                Callback::Refused(_) => (
                    "200 OK",
                    "The authorization was refused. You can close this window.",
                ),
                Callback::MixUp(_) => (
                    "400 Bad Request",
                    "This response did not come from the expected authorization server.",
                ),
                Callback::Ignored => (
                    "400 Bad Request",
                    "Not an authorization response this client is waiting for.",
                ),
            };
            respond(stream, status, message);
            match verdict {
                Callback::Code(code) => return Ok(code),
                Callback::Refused(why) => {
                    return Err(Error::Authorization(format!(
                        "authorization refused: {why}"
                    )));
                }
                Callback::MixUp(why) => {
                    return Err(Error::Authorization(format!(
                        "mix-up refused (RFC 9207): {why}"
                    )));
                }
                Callback::Ignored => {}
            }
        }
        Err(Error::Authorization(format!(
            "no authorization response within {} s",
            timeout.as_secs()
        )))
    }
}

/// The request target of a `GET` request line, or `None`.
fn read_target(mut stream: &TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() + n > MAX_HEAD_BYTES {
            return None;
        }
        head.extend_from_slice(buf.get(..n)?);
    }
    let line = std::str::from_utf8(&head).ok()?.lines().next()?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            Some(target.to_owned())
        }
        _ => None,
    }
}

fn respond(mut stream: TcpStream, status: &str, message: &str) {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>gatehouse-fetch</title><p>{message}</p>\n"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src 'none'\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // The person sees the page; the outcome does not depend on the browser reading it.
    let _ = stream.write_all(response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISS: &str = "https://as.example";

    #[test]
    fn our_state_and_issuer_yield_the_code() {
        let got = judge(
            "/callback?code=abc&state=s1&iss=https%3A%2F%2Fas.example",
            "s1",
            ISS,
            true,
        );
        assert!(matches!(got, Callback::Code(c) if c.expose_secret() == "abc"));
        assert!(
            matches!(judge("/callback?code=abc&state=s1", "s1", ISS, false), Callback::Code(c) if c.expose_secret() == "abc")
        );
    }

    #[test]
    fn hostile_callbacks_never_yield_a_code() {
        assert!(matches!(
            judge("/callback?code=abc&state=other", "s1", ISS, false),
            Callback::Ignored
        ));
        assert!(matches!(
            judge("/callback?code=abc", "s1", ISS, false),
            Callback::Ignored
        ));
        assert!(matches!(
            judge("/other?code=abc&state=s1", "s1", ISS, false),
            Callback::Ignored
        ));
        assert!(matches!(
            judge("/callback?code=abc&state=s1&state=s1", "s1", ISS, false),
            Callback::Ignored
        ));
        assert!(matches!(
            judge("/callback?code=a&code=b&state=s1", "s1", ISS, false),
            Callback::Ignored
        ));
        assert!(matches!(
            judge(
                "/callback?code=abc&state=s1&iss=https%3A%2F%2Fevil.example",
                "s1",
                ISS,
                false
            ),
            Callback::MixUp(_)
        ));
        assert!(matches!(
            judge("/callback?code=abc&state=s1", "s1", ISS, true),
            Callback::MixUp(_)
        ));
        assert!(
            matches!(judge("/callback?error=access_denied&state=s1&iss=https%3A%2F%2Fas.example", "s1", ISS, true), Callback::Refused(e) if e == "access_denied")
        );
    }

    #[test]
    fn the_listener_ignores_strangers_and_takes_our_response() {
        let listener = Listener::bind().unwrap();
        let uri = listener.redirect_uri().clone();
        let state = Secret::new("st".into());
        let send = move |target: &str| {
            let mut s = TcpStream::connect((uri.host_str().unwrap(), uri.port().unwrap())).unwrap();
            write!(s, "GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        };
        let t = std::thread::spawn(move || {
            let strangers = [
                send("/callback?code=evil&state=guess"),
                send("/favicon.ico"),
            ];
            (
                strangers,
                send("/callback?code=good&state=st&iss=https%3A%2F%2Fas.example"),
            )
        });
        let code = listener
            .wait(&state, ISS, true, Duration::from_secs(10))
            .unwrap();
        assert_eq!(code.expose_secret(), "good");
        let (strangers, ours) = t.join().unwrap();
        assert!(strangers.iter().all(|s| s.starts_with("HTTP/1.1 400")));
        assert!(ours.starts_with("HTTP/1.1 200"));
        assert!(ours.contains("Cache-Control: no-store"));
    }

    proptest! {
        #[test]
        fn without_our_state_there_is_never_a_code(query in "[ -$&-~]{0,120}") {
            // No `%` in the query, so nothing decodes to the non-ASCII character of our state.
            let got = judge(&format!("/callback?{query}"), "st\u{e9}", ISS, false);
            prop_assert!(matches!(got, Callback::Ignored));
        }
    }
}
