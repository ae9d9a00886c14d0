//! The URL of an incoming request, split into the parts gatehouse routes on.
//!
//! The Workers runtime hands a Worker its request URL parsed and serialized already by the
//! WHATWG URL standard: scheme and host lowercased, the default port dropped, the path starting
//! with `/` and percent-encoded, no fragment. Splitting that serialization gives exactly what
//! parsing it again would, for a fraction of the cost: parsing with `url` was ~6% of a
//! discovery request's CPU in the Worker. [`RequestUrl::split`] accepts only http(s) URLs of
//! that shape; anything else is `None`.

use crate::metadata::issuer_from_origin;

/// An absolute http(s) URL as the runtime serialized it, in parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestUrl<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The host: a name, an IPv4 address, or an IPv6 address in brackets.
    pub host: &'a str,
    /// The port, unless it is the scheme's default.
    pub port: Option<u16>,
    /// The path, starting with `/`.
    pub path: &'a str,
    /// The query, without its `?`.
    pub query: Option<&'a str>,
    /// The whole URL.
    pub href: &'a str,
}

impl<'a> RequestUrl<'a> {
    /// Splits a serialized http(s) URL.
    pub fn split(href: &'a str) -> Option<Self> {
        let (scheme, rest) = href.split_once("://")?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(authority_end);
        // The serialization keeps `user:password@`; the host follows the last `@`.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = split_port(host_port)?;
        if host.is_empty() {
            return None;
        }
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        Some(Self {
            scheme,
            host,
            port: port.filter(|&p| p != default_port),
            path: if path.is_empty() { "/" } else { path },
            query,
            href,
        })
    }

    /// `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        issuer_from_origin(self.scheme, self.host, self.port)
    }

    /// The host and, unless it is the default, the port: what a `Host` header would say.
    pub fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.to_owned(),
        }
    }
}

/// `host[:port]`, where an IPv6 host is in brackets.
fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let close = v6.find(']')? + 1;
            let (host, after) = host_port.split_at(close + 1);
            match after {
                "" => (host, None),
                _ => (host, Some(after.strip_prefix(':')?)),
            }
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    match port {
        // `http://host:/` serializes without the colon, but take it as no port all the same.
        None | Some("") => Some((host, None)),
        Some(port) => Some((host, Some(port.parse().ok()?))),
    }
}

#[cfg(test)]
mod tests;
