//! Route rules: which scope a request needs, and which paths need no login at all.
//!
//! Patterns are `/`-separated segments where `*` matches one segment and a final `**` matches
//! the rest of the path (including nothing). They are matched case-insensitively against the
//! percent-decoded path, because origins commonly treat `/API/x` and `/ap%69/x` as `/api/x`: a
//! rule must cover every spelling an origin might serve, or it could be walked around.

use std::fmt;

use serde::Deserialize;

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

/// Percent-decoded and lowercased, for matching only.
fn normalize(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .to_lowercase()
}

/// "Requests with one of these methods to paths matching this pattern need this scope."
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// HTTP methods (upper case); empty means every method.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The paths the rule covers.
    pub path: PathPattern,
    /// The scope a token needs there.
    pub scope: Scope,
}

impl RouteRule {
    fn applies(&self, method: &str, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self.path.matches(path)
    }
}

/// The scope the first matching rule asks for; `None` when no rule matches (a valid token for
/// the app is then enough).
pub fn required_scope<'r>(rules: &'r [RouteRule], method: &str, path: &str) -> Option<&'r Scope> {
    rules
        .iter()
        .find(|rule| rule.applies(method, path))
        .map(|rule| &rule.scope)
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
        let scope =
            |method, path| required_scope(&rules, method, path).map(|s| s.as_str().to_owned());
        assert_eq!(scope("GET", "/api/notes").as_deref(), Some("read"));
        assert_eq!(scope("get", "/api/notes").as_deref(), Some("read"));
        assert_eq!(scope("POST", "/api/notes").as_deref(), Some("write"));
        assert_eq!(scope("DELETE", "/admin/x").as_deref(), Some("admin"));
        assert_eq!(scope("OPTIONS", "/api/notes"), None);
        assert_eq!(scope("GET", "/"), None);
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
