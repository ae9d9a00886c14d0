//! Media types (RFC 9110 §8.3.1) and the `Accept` header (RFC 9110 §12.5.1), parsed once for
//! every use: the gatekeeper telling a browser from an agent, Markdown for agents, the connected
//! agents page's JSON, and the form content type of the token endpoint.
//!
//! Weights are `qvalue`s in thousandths (RFC 9110 §12.4.2), compared as numbers: `q=0`, `q=0.0`
//! and `q=0.000` are the same weight, "not acceptable". A malformed list member (no `/`, a
//! character outside the token grammar, a `q` outside the `qvalue` grammar, an unterminated
//! quoted string) is skipped, never guessed at.

/// A media type's claim in an `Accept` header: how specific the range that gave it is, and its
/// weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weight {
    /// 0: no range matched; 1: `*/*`; 2: `type/*`; 3: `type/subtype`.
    pub specificity: u8,
    /// `qvalue` × 1000, 0..=1000.
    pub q: u16,
}

impl Weight {
    /// No range matched: not acceptable.
    pub const NONE: Self = Self {
        specificity: 0,
        q: 0,
    };

    /// Whether the type was named exactly (`type/subtype`, not a wildcard) with a weight above
    /// zero.
    pub fn is_listed(self) -> bool {
        self.specificity == 3 && self.q > 0
    }

    /// RFC 9110 §12.5.1: "If more than one media range applies to a given type, the most
    /// specific reference has precedence." Equally specific ranges: the highest weight.
    fn merge(self, other: Self) -> Self {
        match self.specificity.cmp(&other.specificity) {
            std::cmp::Ordering::Less => other,
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Equal => Self {
                specificity: self.specificity,
                q: self.q.max(other.q),
            },
        }
    }
}

/// An `Accept` header (RFC 9110 §12.5.1), read lazily: each question walks the list once.
#[derive(Clone, Copy, Debug)]
pub struct Accept<'a> {
    header: Option<&'a str>,
}

impl<'a> Accept<'a> {
    /// The header as the request sent it; `None` when there was none.
    pub fn new(header: Option<&'a str>) -> Self {
        Self { header }
    }

    /// The weight of `main/sub`: the `q` of the most specific range that matches it
    /// (`type/subtype` before `type/*` before `*/*`), the highest of equally specific ones;
    /// [`Weight::NONE`] when none matches or there is no header. Media-type parameters other
    /// than `q` are ignored.
    pub fn weight(&self, main: &str, sub: &str) -> Weight {
        let Some(header) = self.header else {
            return Weight::NONE;
        };
        split_unquoted(header, b',')
            .filter_map(MediaRange::parse)
            .fold(Weight::NONE, |weight, range| {
                weight.merge(range.weight_for(main, sub))
            })
    }

    /// Whether `preferred` outweighs `other`: its weight is above zero and strictly above
    /// the other's, so a tie (`*/*`, `type/*`, both listed with equal weight) keeps `other`.
    pub fn prefers(&self, preferred: (&str, &str), other: (&str, &str)) -> bool {
        let preferred = self.weight(preferred.0, preferred.1).q;
        preferred > 0 && preferred > self.weight(other.0, other.1).q
    }
}

/// Whether a `Content-Type` names `main/sub`, with any parameters, in any case (RFC 9110 §8.3.1:
/// "The type and subtype tokens are case-insensitive"). A longer subtype that merely starts the
/// same (`application/x-www-form-urlencodedx`) is another type.
pub fn is(content_type: Option<&str>, main: &str, sub: &str) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches(is_ows);
    essence
        .split_once('/')
        .is_some_and(|(m, s)| m.eq_ignore_ascii_case(main) && s.eq_ignore_ascii_case(sub))
}

/// One member of an `Accept` list: `type/subtype` (either may be `*`) and its weight.
#[derive(Debug)]
struct MediaRange<'a> {
    main: &'a str,
    sub: &'a str,
    q: u16,
}

impl<'a> MediaRange<'a> {
    /// Parses `media-range [ weight ]` (RFC 9110 §12.5.1); `None` when malformed.
    fn parse(member: &'a str) -> Option<Self> {
        let mut parts = split_unquoted(member, b';');
        let range = parts.next()?.trim_matches(is_ows);
        if range.is_empty() {
            return None;
        }
        let (main, sub) = range.split_once('/')?;
        if !is_token(main) || !is_token(sub) || (main == "*" && sub != "*") {
            return None;
        }
        let mut q = None;
        for parameter in parts {
            let parameter = parameter.trim_matches(is_ows);
            // RFC 9110 §5.6.6: `parameters = *( OWS ";" OWS [ parameter ] )`.
            if parameter.is_empty() {
                continue;
            }
            let (name, value) = parameter.split_once('=')?;
            if !is_token(name) || !(is_token(value) || is_quoted_string(value)) {
                return None;
            }
            // RFC 9110 §5.6.6: "Parameter names are case-insensitive." The first `q` is the
            // weight; the media type registry allows no parameter of that name.
            if q.is_none() && name.eq_ignore_ascii_case("q") {
                q = Some(parse_qvalue(value)?);
            }
        }
        Some(Self {
            main,
            sub,
            q: q.unwrap_or(1000),
        })
    }

    /// This range's claim on `main/sub`, or [`Weight::NONE`] when it does not match.
    fn weight_for(&self, main: &str, sub: &str) -> Weight {
        let specificity = if self.main == "*" {
            1
        } else if !self.main.eq_ignore_ascii_case(main) {
            0
        } else if self.sub == "*" {
            2
        } else if self.sub.eq_ignore_ascii_case(sub) {
            3
        } else {
            0
        };
        if specificity == 0 {
            Weight::NONE
        } else {
            Weight {
                specificity,
                q: self.q,
            }
        }
    }
}

/// RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_qvalue(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1,
        _ => return None,
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    let mut scale: u16 = 100;
    for digit in fraction.bytes() {
        thousandths += u16::from(digit - b'0') * scale;
        scale /= 10;
    }
    let q = whole * 1000 + thousandths;
    (q <= 1000).then_some(q)
}

/// RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`.
fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 9110 §5.6.2: `token = 1*tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// RFC 9110 §5.6.4: `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`.
fn is_quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return false;
    };
    let mut escaped = false;
    for b in inner.bytes() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return false;
        }
    }
    !escaped
}

/// Splits `s` at each `separator` byte that is not inside a quoted string (RFC 9110 §5.6.4), so
/// that `a;x="1,2", b` is two members. An unterminated quote runs to the end.
fn split_unquoted(s: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        let mut in_quotes = false;
        let mut escaped = false;
        for (index, b) in current.bytes().enumerate() {
            if in_quotes {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_quotes = false;
                }
            } else if b == b'"' {
                in_quotes = true;
            } else if b == separator {
                // `separator` is ASCII, so both sides are on character boundaries.
                rest = current.get(index + 1..);
                return current.get(..index);
            }
        }
        rest = None;
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn weights_are_numbers_so_every_spelling_of_zero_refuses() {
        for header in [
            "text/html;q=0",
            "text/html;q=0.0",
            "text/html; q=0.000",
            "TEXT/HTML;Q=0.00",
        ] {
            let weight = Accept::new(Some(header)).weight("text", "html");
            assert_eq!(weight.q, 0, "{header}");
            assert!(!weight.is_listed(), "{header}");
        }
        assert_eq!(
            Accept::new(Some("text/html;q=0.5"))
                .weight("text", "html")
                .q,
            500
        );
        assert!(
            Accept::new(Some("text/html;q=0.001"))
                .weight("text", "html")
                .is_listed()
        );
    }

    #[test]
    fn a_q_value_without_digits_after_the_point_is_zero() {
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("1."), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.25"), Some(250));
        assert_eq!(parse_qvalue(".5"), None);
    }

    #[test]
    fn the_most_specific_range_decides() {
        let accept = Accept::new(Some("text/*;q=0.3, text/html;q=0.7, */*;q=0.5"));
        assert_eq!(accept.weight("text", "html").q, 700);
        assert_eq!(accept.weight("text", "plain").q, 300);
        assert_eq!(accept.weight("image", "png").q, 500);
        assert!(!accept.weight("text", "plain").is_listed());
        assert_eq!(Accept::new(None).weight("text", "html"), Weight::NONE);
    }

    #[test]
    fn content_types_compare_their_essence_only() {
        let form = |ct| is(Some(ct), "application", "x-www-form-urlencoded");
        assert!(form("application/x-www-form-urlencoded"));
        assert!(form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
        assert!(!form("application/x-www-form-urlencodedx"));
        assert!(!form("application/json"));
        assert!(!is(None, "text", "html"));
    }

    proptest! {
        #[test]
        fn never_panics(header in ".{0,80}", content_type in ".{0,40}") {
            let _ = Accept::new(Some(&header)).weight("text", "html");
            let _ = is(Some(&content_type), "text", "html");
        }
    }
}
