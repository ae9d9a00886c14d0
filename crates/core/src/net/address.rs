//! Which hosts gatehouse may fetch from on someone else's word (a client's metadata document
//! or `jwks_uri`, an identity provider's endpoints): the server-side request forgery rules
//! (draft-ietf-oauth-client-id-metadata-document §6.5 "Server-Side Request Forgery (SSRF)
//! Attacks"; MCP 2025-11-25 "Client ID Metadata Documents", security considerations); and the
//! one loopback rule (RFC 8252 §7.3, §8.3: `127.0.0.0/8`, `::1`, and the name `localhost`).
//!
//! A pure function over the URL's host. IP literals are refused unless globally routable
//! (RFC 6890 special-purpose registries); names are refused when they obviously name this
//! machine or a private network (`localhost`, `*.localhost`, single-label names, `.local`,
//! `.internal`, `.home.arpa`). A Worker cannot resolve DNS itself, so a public name that
//! resolves to a private address is not caught here: Cloudflare's `fetch` does not reach
//! private networks from a Worker (docs/security.md says so).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether a document may be fetched from `host`.
pub fn is_public_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(v4) => is_public_ipv4(*v4),
        url::Host::Ipv6(v6) => is_public_ipv6(*v6),
        url::Host::Domain(name) => is_public_name(name),
    }
}

/// Whether `ip` is globally routable: not loopback, private, link-local, CGNAT, unspecified,
/// multicast, broadcast, reserved or documentation space, nor an IPv6 form of such an address.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_ipv4(v4),
        IpAddr::V6(v6) => is_public_ipv6(v6),
    }
}

/// RFC 6890 §2.2.2 (IPv4 special-purpose address registry), refusing every block that is not
/// "globally reachable".
fn is_public_ipv4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // 0.0.0.0/8 "this network", including the unspecified address
        || a == 10 // 10/8 private (RFC 1918)
        || a == 127 // 127/8 loopback
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 shared address space (CGNAT, RFC 6598)
        || (a == 169 && b == 254) // 169.254/16 link-local (cloud metadata endpoints live here)
        || (a == 172 && (16..32).contains(&b)) // 172.16/12 private
        || (a == 192 && b == 168) // 192.168/16 private
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // 192.0.2/24 TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // 198.51.100/24 TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // 203.0.113/24 TEST-NET-3
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || (a == 192 && b == 88 && c == 99) // 192.88.99/24 6to4 relay anycast (deprecated)
        || a >= 224; // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
    !refused
}

/// RFC 6890 §2.2.3 (IPv6 special-purpose address registry). Addresses that embed an IPv4
/// address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by that address.
fn is_public_ipv6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    let [s0, s1, s2, s3, s4, s5, _, _] = segments;
    let embedded = || {
        let [.., hi, lo] = segments;
        Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))
    };
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    // ::ffff:0:0/96 IPv4-mapped, and the deprecated IPv4-compatible ::/96.
    if s0 == 0 && s1 == 0 && s2 == 0 && s3 == 0 && s4 == 0 && (s5 == 0xffff || s5 == 0) {
        return is_public_ipv4(embedded());
    }
    // 64:ff9b::/96 NAT64 (RFC 6052) and 64:ff9b:1::/48 local-use NAT64 (RFC 8215).
    if s0 == 0x64 && s1 == 0xff9b {
        return s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 && is_public_ipv4(embedded());
    }
    // 2002::/16 6to4 (RFC 3056): the IPv4 address sits in bits 16..48.
    if s0 == 0x2002 {
        return is_public_ipv4(Ipv4Addr::from((u32::from(s1) << 16) | u32::from(s2)));
    }
    let refused = (s0 & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (s0 & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (s0 & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (s0 & 0xff00) == 0xff00 // ff00::/8 multicast
        || (s0 == 0x2001 && s1 == 0x0db8) // 2001:db8::/32 documentation
        || (s0 == 0x2001 && s1 < 0x0200) // 2001::/23 IETF protocol assignments (Teredo, ORCHID…)
        || (s0 == 0x0100 && s1 == 0 && s2 == 0 && s3 == 0) // 100::/64 discard-only
        || s0 == 0; // ::/16 reserved (what remains after the embedded forms above)
    !refused
}

/// Names that obviously designate this machine or a private network. Public-looking names are
/// accepted: resolution, and with it the final address, is Cloudflare's.
fn is_public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let private_suffixes = [".localhost", ".local", ".internal", ".home.arpa", ".lan"];
    !name.is_empty()
        && name != "localhost"
        // A single label ("intranet", "metadata") resolves through the local search domain.
        && name.contains('.')
        && !private_suffixes.iter().any(|suffix| name.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn host(url: &str) -> bool {
        let url = url::Url::parse(url).unwrap();
        is_public_host(&url.host().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        let refused = [
            "https://127.0.0.1/c",
            "https://127.1.2.3/c",
            "https://0.0.0.0/c",
            "https://10.0.0.1/c",
            "https://172.16.0.1/c",
            "https://172.31.255.255/c",
            "https://192.168.1.1/c",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/c",
            "https://100.127.255.255/c",
            "https://192.0.2.1/c",
            "https://198.51.100.1/c",
            "https://203.0.113.1/c",
            "https://198.18.0.1/c",
            "https://224.0.0.1/c",
            "https://255.255.255.255/c",
            "https://240.0.0.1/c",
            "https://[::1]/c",
            "https://[::]/c",
            "https://[::ffff:127.0.0.1]/c",
            "https://[::ffff:169.254.169.254]/c",
            "https://[::ffff:10.0.0.1]/c",
            "https://[64:ff9b::a00:1]/c",
            "https://[2002:a00:1::]/c",
            "https://[fc00::1]/c",
            "https://[fd12:3456::1]/c",
            "https://[fe80::1]/c",
            "https://[ff02::1]/c",
            "https://[2001:db8::1]/c",
            "https://localhost/c",
            "https://LOCALHOST./c",
            "https://agent.localhost/c",
            "https://printer.local/c",
            "https://metadata.google.internal/c",
            "https://router.home.arpa/c",
            "https://intranet/c",
            // The WHATWG URL parser reads these as IPv4 addresses: 127.0.0.1 and 10.0.0.1.
            "https://2130706433/c",
            "https://0x7f.1/c",
            "https://012.0.0.1/c",
        ];
        for url in refused {
            assert!(!host(url), "{url} must be refused");
        }
    }

    #[test]
    fn public_addresses_and_names_are_accepted() {
        for url in [
            "https://client.example.com/c",
            "https://93.184.216.34/c",
            "https://1.1.1.1/c",
            "https://172.32.0.1/c",
            "https://100.128.0.1/c",
            "https://[2606:4700::1111]/c",
            "https://[::ffff:93.184.216.34]/c",
        ] {
            assert!(host(url), "{url} must be accepted");
        }
    }

    #[test]
    fn loopback_is_127_8_the_ipv6_loopback_and_localhost_however_written() {
        use crate::http::loopback::{is_loopback_host, is_loopback_url};
        for host in [
            "localhost",
            "LocalHost:8787",
            "127.0.0.1",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8787",
        ] {
            assert!(is_loopback_host(host), "{host}");
            let url = url::Url::parse(&format!("http://{host}/")).unwrap();
            assert!(is_loopback_url(&url), "{host}");
        }
        for host in [
            "example.com",
            "localhost.example.com",
            "agent.localhost",
            "0.0.0.0",
            "[::ffff:127.0.0.1]",
            "[::2]",
            "10.0.0.1",
            "",
            "user@localhost",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    proptest! {
        #[test]
        fn every_private_ipv4_range_is_refused(host in any::<u32>(), range in 0usize..8) {
            // (network, prefix length) of RFC 1918, loopback, link-local, CGNAT, this-network.
            let ranges = [
                (0x0a00_0000u32, 8u32), (0xac10_0000, 12), (0xc0a8_0000, 16), (0x7f00_0000, 8),
                (0xa9fe_0000, 16), (0x6440_0000, 10), (0x0000_0000, 8), (0xe000_0000, 4),
            ];
            let (network, len) = ranges[range];
            let ip = Ipv4Addr::from(network | (host >> len));
            prop_assert!(!is_public_ip(IpAddr::V4(ip)));
            prop_assert!(!is_public_ip(IpAddr::V6(ip.to_ipv6_mapped())));
        }

        #[test]
        fn every_private_ipv6_range_is_refused(low in any::<u128>(), range in 0usize..4) {
            let ranges = [(0xfc00u128 << 112, 7u32), (0xfe80 << 112, 10), (0xff00 << 112, 8), (0x2001_0db8 << 96, 32)];
            let (network, len) = ranges[range];
            prop_assert!(!is_public_ip(IpAddr::V6(Ipv6Addr::from(network | (low >> len)))));
        }

        #[test]
        fn hostile_hosts_never_panic(name in "\\PC{0,64}") {
            let _ = is_public_name(&name);
            if let Some(host) = url::Url::parse(&format!("https://{name}/c")).ok().as_ref().and_then(url::Url::host) {
                let _ = is_public_host(&host);
            }
        }
    }
}
