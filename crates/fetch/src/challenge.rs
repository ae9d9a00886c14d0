//! `WWW-Authenticate` parsing: the challenge list of RFC 9110 §11.6.1 and the Bearer challenge
//! of RFC 6750 §3 with the `resource_metadata` parameter of RFC 9728 §5.1.
//!
//! Header values come from the network: parsing never panics, and a malformed list yields no
//! challenge rather than a guess. A Bearer challenge that repeats a parameter is refused
//! (RFC 6750 §3: "MUST NOT appear more than once").

use std::fmt;

/// One challenge: an auth scheme and its parameters (or a token68).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent; compare it case-insensitively (RFC 9110 §11.1).
    pub scheme: String,
    /// `name=value` parameters in order, names lower-cased (RFC 9110 §11.2: case-insensitive).
    pub params: Vec<(String, String)>,
}

/// The parameters of a Bearer challenge that a client acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// RFC 6750 §3.
    pub realm: Option<String>,
    /// RFC 6750 §3: space-delimited scopes the resource asks for.
    pub scope: Option<String>,
    /// RFC 6750 §3.1: `invalid_request`, `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    /// RFC 6750 §3.
    pub error_description: Option<String>,
    /// RFC 9728 §5.1: where the protected-resource metadata is.
    pub resource_metadata: Option<String>,
}

impl BearerChallenge {
    /// The first Bearer challenge among the `WWW-Authenticate` field values, if any parses.
    pub fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<BearerChallenge> {
        values
            .into_iter()
            .filter_map(parse)
            .flatten()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|c| BearerChallenge::from_params(&c.params))
    }

    fn from_params(params: &[(String, String)]) -> Option<BearerChallenge> {
        let mut out = BearerChallenge::default();
        for (name, value) in params {
            let slot = match name.as_str() {
                "realm" => &mut out.realm,
                "scope" => &mut out.scope,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                "resource_metadata" => &mut out.resource_metadata,
                _ => continue, // RFC 6750 §3: other parameters may appear
            };
            if slot.replace(value.clone()).is_some() {
                return None;
            }
        }
        Some(out)
    }

    /// The scopes of the `scope` parameter, split on spaces.
    pub fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .map(|s| {
                s.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether the resource says the token lacks a scope (RFC 6750 §3.1).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Writes the challenge as a server would send it, every value a quoted-string.
impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer")?;
        let params = [
            ("realm", &self.realm),
            ("scope", &self.scope),
            ("error", &self.error),
            ("error_description", &self.error_description),
            ("resource_metadata", &self.resource_metadata),
        ];
        let mut first = true;
        for (name, value) in params {
            if let Some(value) = value {
                f.write_str(if first { " " } else { ", " })?;
                first = false;
                write!(f, "{name}=\"")?;
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        Ok(())
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// RFC 9110 §11.2 `token68` characters (before the trailing `=`s).
fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.rest = self.rest.get(c.len_utf8()..).unwrap_or("");
        Some(c)
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn skip_ows(&mut self) {
        self.rest = self.rest.trim_start_matches([' ', '\t']);
    }
    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let end = self.rest.find(|c| !f(c)).unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at_checked(end).unwrap_or((self.rest, ""));
        self.rest = rest;
        taken
    }
    fn token(&mut self) -> Option<&'a str> {
        Some(self.take_while(is_tchar)).filter(|t| !t.is_empty())
    }
    /// RFC 9110 §5.6.4 quoted-string, the opening quote already seen.
    fn quoted_rest(&mut self) -> Option<String> {
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    let c = self.bump()?;
                    if c.is_control() && c != '\t' {
                        return None;
                    }
                    out.push(c);
                }
                c if c.is_control() && c != '\t' => return None,
                c => out.push(c),
            }
        }
    }
}

/// Parses one `WWW-Authenticate` field value into its challenges; `None` when malformed.
pub fn parse(value: &str) -> Option<Vec<Challenge>> {
    let mut cur = Cursor { rest: value };
    let mut out = Vec::new();
    loop {
        // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
        loop {
            cur.skip_ows();
            if !cur.eat(',') {
                break;
            }
        }
        if cur.peek().is_none() {
            return Some(out);
        }
        let scheme = cur.token()?.to_owned();
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
        };
        let had_space = cur.peek().is_some_and(|c| c == ' ');
        cur.skip_ows();
        if had_space {
            parse_params(&mut cur, &mut challenge)?;
        }
        out.push(challenge);
        cur.skip_ows();
        match cur.peek() {
            None => return Some(out),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// The parameters after a scheme: a token68, or `name=value` pairs until the next challenge.
fn parse_params(cur: &mut Cursor<'_>, challenge: &mut Challenge) -> Option<()> {
    // RFC 9110 §11.2: `token68` is the scheme's only item, followed by the list's end or `,`.
    let save = cur.rest;
    let t68 = cur.take_while(is_token68_char);
    cur.take_while(|c| c == '=');
    let taken = save.get(..save.len() - cur.rest.len())?;
    let after = cur.rest.trim_start_matches([' ', '\t']);
    if !t68.is_empty() && (after.is_empty() || after.starts_with(',')) {
        challenge.params.push(("token68".into(), taken.into()));
        return Some(());
    }
    cur.rest = save;
    if cur.peek().is_none_or(|c| c == ',') {
        return Some(());
    }
    loop {
        let name = cur.token()?.to_ascii_lowercase();
        cur.skip_ows();
        if !cur.eat('=') {
            return None;
        }
        cur.skip_ows();
        let value = if cur.eat('"') {
            cur.quoted_rest()?
        } else {
            cur.token()?.to_owned()
        };
        challenge.params.push((name, value));
        cur.skip_ows();
        let after_value = cur.rest;
        if !cur.eat(',') {
            return Some(());
        }
        // The next item is another parameter only if it reads `token BWS "="`; otherwise it is
        // the next challenge, which the caller parses from the comma on.
        loop {
            cur.skip_ows();
            if !cur.eat(',') {
                break;
            }
        }
        let probe = cur.rest;
        let is_param = cur.token().is_some() && {
            cur.skip_ows();
            cur.peek() == Some('=')
        };
        if !is_param {
            cur.rest = after_value;
            return Some(());
        }
        cur.rest = probe;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bearer(v: &str) -> Option<BearerChallenge> {
        BearerChallenge::from_headers([v])
    }

    #[test]
    fn reads_the_gatehouse_challenge() {
        let c = bearer(r#"Bearer resource_metadata="https://app.example/.well-known/oauth-protected-resource", scope="read""#).unwrap();
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://app.example/.well-known/oauth-protected-resource")
        );
        assert_eq!(c.scopes(), ["read"]);
        assert!(!c.is_insufficient_scope());
    }

    #[test]
    fn finds_bearer_among_other_challenges_and_fields() {
        let v = r#"Basic realm="x", Newauth realm="apps", type=1, title="Login to \"apps\"", bearer error="insufficient_scope", scope="read write""#;
        let c = bearer(v).unwrap();
        assert!(c.is_insufficient_scope());
        assert_eq!(c.scopes(), ["read", "write"]);
        let all = parse(v).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[1].params[2],
            ("title".into(), "Login to \"apps\"".into())
        );
        assert_eq!(
            BearerChallenge::from_headers(["Basic realm=\"x\"", "Bearer"]),
            Some(BearerChallenge::default())
        );
    }

    #[test]
    fn token68_and_bare_schemes() {
        let all = parse("Negotiate abc+/def==, Bearer, Basic").unwrap();
        assert_eq!(
            all.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["Negotiate", "Bearer", "Basic"]
        );
        assert_eq!(
            all[0].params,
            [("token68".to_string(), "abc+/def==".to_string())]
        );
        assert_eq!(
            parse("Negotiate abc, Bearer scope=x").unwrap()[1].params,
            [("scope".to_string(), "x".to_string())]
        );
    }

    #[test]
    fn hostile_or_malformed_values_give_nothing() {
        for v in [
            "Bearer scope=\"unterminated",
            "Bearer scope=\"a\", scope=\"b\"",
            "Bearer =x",
            "\"Bearer\"",
            "Bearer scope=\"a\u{0}\"",
            "Bearer realm=\"a\" junk",
        ] {
            assert_eq!(bearer(v), None, "{v:?}");
        }
    }

    #[test]
    fn unquoted_tokens_and_odd_spacing() {
        let c = bearer("Bearer   error=invalid_token ,  ,scope = read ,resource_metadata=\"u\"")
            .unwrap();
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope.as_deref(), Some("read"));
        assert_eq!(c.resource_metadata.as_deref(), Some("u"));
    }

    fn value() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[ -~]{0,40}")
    }

    proptest! {
        #[test]
        fn never_panics(v in ".{0,200}") {
            let _ = parse(&v);
            let _ = bearer(&v);
        }

        #[test]
        fn never_panics_on_header_shaped_input(v in "[A-Za-z =,\"\\\\+/_-]{0,80}") {
            let _ = parse(&v);
        }

        #[test]
        fn round_trips(realm in value(), scope in value(), error in value(), error_description in value(), resource_metadata in value()) {
            let c = BearerChallenge { realm, scope, error, error_description, resource_metadata };
            prop_assert_eq!(bearer(&c.to_string()), Some(c.clone()));
            // … also behind another challenge.
            prop_assert_eq!(bearer(&format!("Basic realm=\"r\", {c}")), Some(c));
        }
    }
}
