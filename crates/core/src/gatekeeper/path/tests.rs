use proptest::prelude::*;

use super::*;
use crate::gatekeeper::route::{PathPattern, RouteRule, normalize, required_scopes};

/// Issue 15, §2: each of these reached the origin as a path the gate had judged under another
/// rule (a `read` token through `POST /wiki/api/**`, which needs `write`; no credential at all
/// through `/wiki/static/**`, which is public, to `/wiki/admin/x`).
#[test]
fn paths_origins_read_otherwise_are_refused() {
    for path in [
        "/wiki//api/notes",
        "//wiki/api/notes",
        "/wiki/api;x/notes",
        "/wiki/api%3b/notes",
        "/wiki/api%3B/notes",
        "/wiki/api./notes",
        "/wiki/api%2e/notes",
        "/wiki/api%20/notes",
        "/wiki/%20api/notes",
        "/wiki/api%00/notes",
        "/wiki/api%0a/notes",
        "/wiki/api%7f",
        "/wiki/static/..;/admin/x",
        "/wiki/static/..%3b/admin/x",
        "/wiki/static/..%2fadmin/x",
        "/wiki/static/..%2Fadmin/x",
        "/wiki/static/..%5cadmin/x",
        "/wiki/static\\..\\admin",
        "/wiki/static/%2e%2e/admin",
        "/wiki/static/../admin",
        "/wiki/static/./x",
        "/wiki/static/%252e%252e/admin",
        "/wiki/%2561pi/notes",
        "/wiki/api%/notes",
        "/wiki/api%4/notes",
        "/wiki/api%zz/notes",
        "/wiki/%ff/notes",
        "/wiki/%c1%81dmin",
        "wiki/api",
        "",
    ] {
        assert_eq!(check(path), Err(Reason::PathAmbiguous), "{path:?}");
    }
}

#[test]
fn ordinary_paths_pass_as_they_came() {
    for path in [
        "/",
        "/wiki",
        "/wiki/",
        "/wiki/api/notes",
        "/wiki/api/notes/",
        "/files/my%20report.pdf",
        "/files/caf%C3%A9",
        "/v1/items:batchGet",
        "/%61dmin/x",
        "/100%25",
        "/a.b/c.json",
        "/.well-known-ish/x",
        "/~user/x_y-z",
        "/q%3Fx",
    ] {
        assert_eq!(check(path).map(|p| p.as_str()), Ok(path), "{path:?}");
    }
}

/// How origins read a path, as a list of decoded segments: each reading the issue names.
fn origin_readings(raw: &str) -> Vec<(&'static str, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let decode_segments = |path: &str| path.split('/').map(decode).collect::<Vec<_>>().join("/");
    vec![
        // RFC 3986 §5.2.4 on the path as sent, then each segment decoded.
        ("rfc3986", decode_segments(&remove_dot_segments(raw))),
        // Decoded first (`%2F` becomes a separator, `%2E` a dot), then dot segments removed.
        ("decode first", remove_dot_segments(&decode(raw))),
        // Servlet: `;` parameters cut from every segment, then dot segments (`..;` is `..`).
        (
            "servlet",
            decode_segments(&remove_dot_segments(
                &raw.split('/')
                    .map(|s| s.split(';').next().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("/"),
            )),
        ),
        // Slashes merged, then RFC 3986.
        ("merged slashes", {
            let mut merged = raw.to_owned();
            while merged.contains("//") {
                merged = merged.replace("//", "/");
            }
            decode_segments(&remove_dot_segments(&merged))
        }),
        // Windows: decoded, `\` is `/`, dot segments removed, trailing dots and spaces dropped.
        ("windows", {
            let path = remove_dot_segments(&decode(raw).replace('\\', "/"));
            path.split('/')
                .map(|s| s.trim_end_matches(['.', ' ']))
                .collect::<Vec<_>>()
                .join("/")
        }),
        // Decoded twice.
        (
            "double decoding",
            remove_dot_segments(&decode(&decode(raw))),
        ),
        // C strings: the path ends at the first NUL.
        ("nul ends it", {
            let decoded = decode_segments(&remove_dot_segments(raw));
            decoded.split('\0').next().unwrap_or_default().to_owned()
        }),
        // Routers that trim each segment.
        ("trimmed", {
            decode_segments(&remove_dot_segments(raw))
                .split('/')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("/")
        }),
    ]
}

/// RFC 3986 §5.2.4, for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path.to_owned();
    let mut output = String::new();
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest.to_owned();
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest.to_owned();
        } else if input.starts_with("/./") {
            input.replace_range(..3, "/");
        } else if input == "/." {
            input = "/".to_owned();
        } else if input.starts_with("/../") || input == "/.." {
            let rest = if input == "/.." {
                "/".to_owned()
            } else {
                input[3..].to_owned()
            };
            input = rest;
            let cut = output.rfind('/').unwrap_or(0);
            output.truncate(cut);
        } else if input == "." || input == ".." {
            input.clear();
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input.replace_range(..end, "");
        }
    }
    output
}

/// Paths built from the pieces that make origins disagree, and ordinary ones.
fn request_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "[a-zA-Z0-9_~-]{1,6}",
        1 => Just(String::new()),
        1 => proptest::sample::select(vec![
            ".", "..", "..;", ";x", "a;b", "%2e", "%2E%2e", "a.", "a%2e", "%20", "a%20", "a%20b",
            "%2f", "%2F", "%5c", "\\", "%3b", "%C2%A0", "a%09", "%00", "%0a", "%25", "%252e", "%2561", "%", "%4",
            "%zz", "%ff", "%C3%A9", "%61", "api", "admin", "static", "a:b", "x.json",
        ])
        .prop_map(str::to_owned),
    ];
    (proptest::collection::vec(piece, 1..6), any::<bool>()).prop_map(|(pieces, trailing)| {
        let mut path = format!("/{}", pieces.join("/"));
        if trailing {
            path.push('/');
        }
        path
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// The property of issue 15, §2: whatever reading an origin applies, an accepted path is the
    /// path the gate judged.
    #[test]
    fn every_origin_reading_of_an_accepted_path_is_the_one_the_gate_judged(raw in request_path()) {
        if let Ok(path) = check(&raw) {
            // The decoded, lowercased path the gate's patterns compare.
            let judged = normalize(path.as_str());
            for (reading, seen) in origin_readings(&raw) {
                prop_assert_eq!(&seen.to_lowercase(), &judged, "{} reads {:?} otherwise", reading, raw);
            }
        }
    }

    /// The same property stated with rules: the scopes a request needs, and whether its path is
    /// public, are the same for the path the gate judged and for every path an origin acts on.
    #[test]
    fn the_rule_the_gate_applied_covers_the_path_the_origin_acts_on(
        raw in request_path(),
        patterns in proptest::collection::vec(
            proptest::collection::vec(prop_oneof![
                Just("*".to_owned()), Just("api".to_owned()), Just("admin".to_owned()),
                Just("static".to_owned()), "[a-z]{1,2}",
            ], 0..3),
            1..4,
        ),
        method in proptest::sample::select(vec!["GET", "POST", "PROPFIND"]),
    ) {
        let Ok(path) = check(&raw) else { return Ok(()) };
        let rules: Vec<RouteRule> = patterns
            .iter()
            .enumerate()
            .map(|(i, segments)| RouteRule {
                methods: if i % 2 == 0 { vec!["GET".into()] } else { vec![] },
                path: PathPattern::parse(&format!("/{}/**", segments.join("/")).replace("//", "/")).unwrap(),
                scope: crate::types::Scope::parse(&format!("s{i}")).unwrap(),
            })
            .collect();
        let judged = required_scopes(&rules, method, &path);
        for (reading, seen) in origin_readings(&raw) {
            // Encoded again for the patterns, which decode what they match.
            let encoded = seen.replace('%', "%25");
            let seen = check(&encoded).unwrap_or_else(|_| panic!("{reading} of {raw:?}: {seen:?}"));
            prop_assert_eq!(&required_scopes(&rules, method, &seen), &judged, "{}", reading);
            for rule in &rules {
                prop_assert_eq!(rule.path.matches(seen.as_str()), rule.path.matches(path.as_str()));
            }
        }
    }

    #[test]
    fn check_never_panics(raw in ".{0,64}") {
        let _ = check(&raw);
    }
}
