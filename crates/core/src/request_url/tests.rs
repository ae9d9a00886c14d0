use proptest::prelude::*;

use super::*;

#[test]
fn splits_a_serialized_url() {
    let url = RequestUrl::split("https://apps.example.com:8443/api/x?a=1&b=2").unwrap();
    assert_eq!(url.scheme, "https");
    assert_eq!(url.host, "apps.example.com");
    assert_eq!(url.port, Some(8443));
    assert_eq!(url.path, "/api/x");
    assert_eq!(url.query, Some("a=1&b=2"));
    assert_eq!(url.origin(), "https://apps.example.com:8443");
    assert_eq!(url.authority(), "apps.example.com:8443");
}

#[test]
fn default_ports_userinfo_and_ipv6() {
    let url = RequestUrl::split("http://user:pw@[::1]:80/").unwrap();
    assert_eq!((url.host, url.port), ("[::1]", None));
    let url = RequestUrl::split("https://[2001:db8::1]:8787/p?").unwrap();
    assert_eq!(
        (url.host, url.port, url.query),
        ("[2001:db8::1]", Some(8787), Some(""))
    );
    assert_eq!(url.origin(), "https://[2001:db8::1]:8787");
}

#[test]
fn refuses_what_is_not_a_serialized_http_url() {
    for bad in [
        "",
        "/relative",
        "ftp://example.com/",
        "https:///path",
        "https://example.com:99999/",
        "https://example.com:port/",
        "https://[::1/",
        "https://[::1]x/",
        "HTTPS://example.com/",
    ] {
        assert_eq!(RequestUrl::split(bad), None, "{bad}");
    }
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| format!(
            "[{}]",
            s.iter()
                .map(|x| format!("{x:x}"))
                .collect::<Vec<_>>()
                .join(":")
        )),
        Just("xn--bcher-kva.example".to_owned()),
        Just("BÜCHER.Example".to_owned()),
    ]
}

proptest! {
    /// Whatever `url` serializes, the split agrees with `url`'s own reading of it.
    #[test]
    fn agrees_with_the_url_crate_on_serialized_urls(
        scheme in prop_oneof![Just("http"), Just("https")],
        userinfo in proptest::option::of("[a-z]{1,5}(:[a-z]{0,5})?@"),
        host in host(),
        port in proptest::option::of(any::<u16>()),
        path in "(/[a-zA-Z0-9._~%!$&'()*+,;=:@ -]{0,8}){0,4}",
        query in proptest::option::of("[a-zA-Z0-9=&%/?:@ -]{0,20}"),
        fragment in proptest::option::of("[a-z]{0,5}"),
    ) {
        let mut input = format!("{scheme}://{}{host}", userinfo.unwrap_or_default());
        if let Some(port) = port {
            input.push_str(&format!(":{port}"));
        }
        input.push_str(&path);
        if let Some(query) = query {
            input.push_str(&format!("?{query}"));
        }
        if let Some(fragment) = fragment {
            input.push_str(&format!("#{fragment}"));
        }
        let Ok(parsed) = url::Url::parse(&input) else { return Ok(()) };
        let serialized = parsed.as_str();
        let split = RequestUrl::split(serialized).expect("a serialized http(s) URL splits");
        prop_assert_eq!(split.scheme, parsed.scheme());
        prop_assert_eq!(Some(split.host), parsed.host_str());
        prop_assert_eq!(split.port, parsed.port());
        prop_assert_eq!(split.path, parsed.path());
        prop_assert_eq!(split.query, parsed.query());
    }

    /// No input makes it panic.
    #[test]
    fn never_panics(input in ".{0,80}") {
        let _ = RequestUrl::split(&input);
    }
}
