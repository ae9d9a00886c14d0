//! The client's errors, grouped by what the caller can do about them. The CLI maps each group
//! to its own exit code (see `main.rs` and the README).

use std::fmt;

/// Why a fetch did not produce a response.
#[derive(Debug)]
pub enum Error {
    /// The caller asked for something impossible (bad URL, bad flag combination).
    Usage(String),
    /// The network failed: connection, TLS, timeout, an unreadable response.
    Network(String),
    /// The server's metadata is missing, malformed or inconsistent (RFC 8414 §3.3, RFC 9728 §3.3),
    /// or names an endpoint we refuse to use (plain http to a non-loopback host).
    Discovery(String),
    /// Registration (RFC 7591), authorization, token exchange, refresh or the device grant failed.
    Authorization(String),
    /// The person declined, or consent could not be asked (no terminal and no `--yes`).
    ConsentDeclined(String),
    /// The token store could not be read or written.
    Store(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Network(m) => write!(f, "network: {m}"),
            Error::Discovery(m) => write!(f, "discovery: {m}"),
            Error::Authorization(m) => write!(f, "authorization: {m}"),
            Error::ConsentDeclined(m) => write!(f, "consent: {m}"),
            Error::Store(m) => write!(f, "token store: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ureq::Error> for Error {
    fn from(e: ureq::Error) -> Self {
        Error::Network(e.to_string())
    }
}
