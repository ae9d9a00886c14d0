//! The one loopback rule: whether a host names this machine. RFC 8252 §7.3 and §8.3 name the
//! loopback addresses (`127.0.0.0/8`, `::1`); `localhost` counts too (the MCP authorization spec
//! allows `localhost` redirect URIs, and RFC 6761 §6.3 reserves the name for loopback). Every
//! question of that kind in gatehouse is answered here: loopback redirect URIs and resources,
//! the `"*"` app's hosts, configuration that only local development may use (an OpenID provider
//! on plain http, plain-http metadata documents), and the consent page's warning.
//!
//! Deliberately not loopback: other names that resolve to this machine by local convention
//! (`localhost.`, `*.localhost`, `0.0.0.0`, IPv4-mapped `::ffff:127.0.0.1`), which no RFC asks us to trust.

use std::net::IpAddr;

/// Whether a parsed URL's host is loopback.
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_loopback_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_loopback_ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => is_loopback_name(name),
        None => false,
    }
}

/// Whether `host` names this machine, written as a request's authority or a configured host:
/// a name, an IPv4 address, an IPv6 address with or without brackets, each with or without a
/// `:port` (`localhost:8787`, `[::1]:8787`, `[::1]`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`: the address is what the brackets hold.
        Some(bracketed) => match bracketed.split_once(']') {
            Some((inside, rest)) if rest.is_empty() || is_port(rest.strip_prefix(':')) => inside,
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            // One colon: `name:port`. More than one: a bare IPv6 address, no port.
            Some((name, port)) if !name.contains(':') && is_port(Some(port)) => name,
            _ => host,
        },
    };
    match name.parse::<IpAddr>() {
        Ok(ip) => is_loopback_ip(ip),
        Err(_) => is_loopback_name(name),
    }
}

/// Whether `ip` is a loopback address: `127.0.0.0/8` or `::1`.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// The name `localhost`, in any case. Not `localhost.`: a fully qualified name is resolved by
/// DNS, not by the browser's loopback rule (RFC 8252 §7.3 names the literal).
fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
}

fn is_port(port: Option<&str>) -> bool {
    port.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_spelling_of_this_machine_is_loopback() {
        for host in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8787",
            "::1",
            "0:0:0:0:0:0:0:1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn other_hosts_are_not() {
        for host in [
            "",
            "example.com",
            "localhost.example.com",
            "localhost.",
            "app.localhost",
            "0.0.0.0",
            "10.0.0.1",
            "[::2]",
            "[::1",
            "[::1]x",
            "[::1]:",
            "::ffff:127.0.0.1",
            "[::ffff:127.0.0.1]",
            "127.0.0.1:port",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn urls_and_hosts_agree() {
        for (url, loopback) in [
            ("http://127.0.0.1/cb", true),
            ("http://127.9.9.9:1234/cb", true),
            ("http://[::1]/cb", true),
            ("http://[::1]:8080/cb", true),
            ("http://localhost/cb", true),
            ("http://LocalHost:3000/cb", true),
            ("http://example.com/cb", false),
            ("http://[::2]/cb", false),
            ("http://[::ffff:127.0.0.1]/cb", false),
            ("urn:x", false),
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert_eq!(is_loopback_url(&parsed), loopback, "{url}");
            let authority = parsed.host_str().map(|h| match parsed.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_owned(),
            });
            assert_eq!(
                authority.is_some_and(|a| is_loopback_host(&a)),
                loopback,
                "{url}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(host in ".{0,40}") {
            let _ = is_loopback_host(&host);
        }
    }
}
