//! Route rules: which scope a request needs, and which paths need no login at all.
//!
//! Patterns are `/`-separated segments where `*` matches one segment and a final `**` matches
//! the rest of the path (including nothing). They are matched case-insensitively against the
//! percent-decoded path, because origins commonly treat `/API/x` and `/ap%69/x` as `/api/x`: a
//! rule must cover every spelling an origin might serve, or it could be walked around.

use std::fmt;

use serde::Deserialize;

use crate::gatekeeper::path::CheckedPath;
use crate::types::Scope;

/// A path pattern such as `/api/**` or `/users/*/profile`.
#[derive(Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({})", self.raw)
    }
}

impl PathPattern {
    /// Parses a pattern: it starts with `/`, and `**` may only be the last segment.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let rest = raw
            .strip_prefix('/')
            .ok_or_else(|| format!("path {raw:?} must start with /"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len().saturating_sub(1);
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            segments.push(match *part {
                "**" if i == last => Segment::Rest,
                "**" => return Err(format!("path {raw:?}: ** may only end a pattern")),
                "*" => Segment::One,
                literal => Segment::Literal(normalize(literal)),
            });
        }
        Ok(Self {
            raw: raw.to_owned(),
            segments,
        })
    }

    /// Whether `path` (as the request URL has it, percent-encoded) matches.
    pub fn matches(&self, path: &str) -> bool {
        let normalized = normalize(path);
        let Some(rest) = normalized.strip_prefix('/') else {
            return false;
        };
        let mut parts = rest.split('/');
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::One => {
                    if parts.next().is_none_or(str::is_empty) {
                        return false;
                    }
                }
                Segment::Literal(literal) => {
                    if parts.next() != Some(literal.as_str()) {
                        return false;
                    }
                }
            }
        }
        parts.next().is_none()
    }
}

impl<'de> Deserialize<'de> for PathPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Percent-decoded and lowercased, for matching only: the path as the patterns judge it.
pub(crate) fn normalize(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .to_lowercase()
}

/// "Requests with one of these methods to paths matching this pattern need this scope."
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// HTTP methods (compared case-insensitively); empty means every method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The paths the rule covers.
    pub path: PathPattern,
    /// The scope a token needs there.
    pub scope: Scope,
}

impl RouteRule {
    fn names(&self, method: &str) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The scopes a request needs; none when no rule covers its path (a valid token for the app is
/// then enough).
///
/// When a rule covering the path names the method (a rule without `methods` names every
/// method), the first such rule decides. A method that no rule covering the path names
/// (`PROPFIND`, `MKCOL`, a made-up one: RFC 9110 §9.1 lets any token be a method, and WebDAV
/// origins act on many) needs every scope of every rule covering the path, so it never passes
/// with less than the strictest of them.
pub fn required_scopes<'r>(
    rules: &'r [RouteRule],
    method: &str,
    path: &CheckedPath<'_>,
) -> Vec<&'r Scope> {
    let covering = || rules.iter().filter(|rule| rule.path.matches(path.as_str()));
    if let Some(rule) = covering().find(|rule| rule.names(method)) {
        return vec![&rule.scope];
    }
    let mut every: Vec<&Scope> = Vec::new();
    for rule in covering() {
        if !every.contains(&&rule.scope) {
            every.push(&rule.scope);
        }
    }
    every
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(raw: &str) -> PathPattern {
        PathPattern::parse(raw).unwrap()
    }

    #[test]
    fn stars_match_one_segment_and_double_stars_the_rest() {
        let cases = [
            ("/api/**", "/api", true),
            ("/api/**", "/api/", true),
            ("/api/**", "/api/a/b/c", true),
            ("/api/**", "/apix", false),
            ("/api/**", "/other/api", false),
            ("/users/*/profile", "/users/42/profile", true),
            ("/users/*/profile", "/users//profile", false),
            ("/users/*/profile", "/users/42/profile/x", false),
            ("/health", "/health", true),
            ("/health", "/health/", false),
            ("/", "/", true),
            ("/**", "/anything/at/all", true),
        ];
        for (raw, path, expected) in cases {
            assert_eq!(pattern(raw).matches(path), expected, "{raw} vs {path}");
        }
    }

    #[test]
    fn case_and_percent_encoding_cannot_walk_around_a_rule() {
        let admin = pattern("/admin/**");
        for path in [
            "/ADMIN/users",
            "/Admin/x",
            "/%61dmin/x",
            "/adm%69n/x",
            "/%41DMIN",
        ] {
            assert!(admin.matches(path), "{path}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for raw in ["api/**", "", "/**/x", "/a/**/b"] {
            assert!(PathPattern::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let rules: Vec<RouteRule> = serde_json::from_str(
            r#"[{"methods":["GET","HEAD"],"path":"/api/**","scope":"read"},
                {"methods":["POST","PUT","PATCH","DELETE"],"path":"/api/**","scope":"write"},
                {"path":"/admin/**","scope":"admin"}]"#,
        )
        .unwrap();
        let scope = |method, path| scopes(&rules, method, path);
        assert_eq!(scope("GET", "/api/notes"), "read");
        assert_eq!(scope("get", "/api/notes"), "read");
        assert_eq!(scope("POST", "/api/notes"), "write");
        assert_eq!(scope("DELETE", "/admin/x"), "admin");
        assert_eq!(
            scope("PROPFIND", "/admin/x"),
            "admin",
            "no methods: every method"
        );
        assert_eq!(scope("GET", "/"), "");
    }

    fn scopes(rules: &[RouteRule], method: &str, path: &str) -> String {
        let path = crate::gatekeeper::path::check(path).unwrap();
        let needed: Vec<&str> = required_scopes(rules, method, &path)
            .iter()
            .map(|s| s.as_str())
            .collect();
        needed.join(" ")
    }

    /// Issue 15: `PROPFIND` and `MKCOL` were named by no rule, so they needed no scope at all and
    /// a `read` token could act on a WebDAV origin's `/api/**`.
    #[test]
    fn a_method_no_rule_names_needs_every_scope_of_the_rules_covering_the_path() {
        let rules: Vec<RouteRule> = serde_json::from_str(
            r#"[{"methods":["GET","HEAD"],"path":"/api/**","scope":"read"},
                {"methods":["POST","PUT","PATCH","DELETE"],"path":"/api/**","scope":"write"},
                {"methods":["GET"],"path":"/api/admin/**","scope":"admin"},
                {"methods":["PROPFIND"],"path":"/dav/**","scope":"read"}]"#,
        )
        .unwrap();
        for method in [
            "PROPFIND", "MKCOL", "MOVE", "LOCK", "OPTIONS", "BREW", "propfind",
        ] {
            assert_eq!(
                scopes(&rules, method, "/api/notes"),
                "read write",
                "{method}"
            );
        }
        assert_eq!(scopes(&rules, "MKCOL", "/api/admin/x"), "read write admin");
        assert_eq!(
            scopes(&rules, "PROPFIND", "/dav/x"),
            "read",
            "named: its rule decides"
        );
        assert_eq!(scopes(&rules, "MKCOL", "/dav/x"), "read");
        assert_eq!(
            scopes(&rules, "MKCOL", "/elsewhere"),
            "",
            "no rule covers the path"
        );
    }

    proptest! {
        #[test]
        fn never_panics(raw in "/[a-z*/%]{0,20}", path in ".{0,40}") {
            if let Ok(p) = PathPattern::parse(&raw) {
                let _ = p.matches(&path);
            }
        }
    }
}
