//! `application/x-www-form-urlencoded` parameters, for request bodies (RFC 6749 §3.2, RFC 7009
//! §2.1, RFC 7662 §2.1) and authorization request query strings (RFC 6749 §4.1.1).
//!
//! RFC 6749 §3.1 and §3.2: "Request and response parameters MUST NOT be included more than
//! once." A repeated parameter is remembered, and asking for it is an error, so no caller can
//! pick one of two values by accident. Parameters sent without a value are treated as omitted
//! (RFC 6749 §3.1).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::error::Reason;

/// Largest form body accepted by the token, revocation and introspection endpoints.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Parsed parameters.
#[derive(Debug, Default)]
pub struct Form {
    values: BTreeMap<String, Param>,
}

#[derive(Debug)]
enum Param {
    One(String),
    Repeated(Vec<String>),
}

impl Form {
    /// Parses a body or query string. Malformed percent-encoding is decoded lossily by the
    /// `form_urlencoded` rules, which never fail; bodies over [`MAX_FORM_BYTES`] are refused.
    pub fn parse(input: &[u8]) -> Result<Self, Reason> {
        if input.len() > MAX_FORM_BYTES {
            return Err(Reason::BodyTooLarge);
        }
        let mut values = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(input) {
            if value.is_empty() {
                continue;
            }
            let value = value.into_owned();
            match values.entry(name.into_owned()) {
                Entry::Vacant(entry) => {
                    entry.insert(Param::One(value));
                }
                Entry::Occupied(mut entry) => {
                    let param = entry.get_mut();
                    match param {
                        Param::One(first) => {
                            *param = Param::Repeated(vec![std::mem::take(first), value]);
                        }
                        Param::Repeated(all) => all.push(value),
                    }
                }
            }
        }
        Ok(Self { values })
    }

    /// The parameter's value; `Ok(None)` when absent, an error when it was sent more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Reason> {
        match self.values.get(name) {
            None => Ok(None),
            Some(Param::One(value)) => Ok(Some(value)),
            Some(Param::Repeated(_)) => Err(Reason::DuplicateParameter),
        }
    }

    /// Every value of a parameter that is a list by design (an HTML form's checkboxes sharing
    /// one name), in the order sent; empty when absent. Never use it for an RFC parameter,
    /// which [`Form::get`] refuses when repeated.
    pub fn all(&self, name: &str) -> Vec<&str> {
        match self.values.get(name) {
            None => Vec::new(),
            Some(Param::One(value)) => vec![value.as_str()],
            Some(Param::Repeated(values)) => values.iter().map(String::as_str).collect(),
        }
    }

    /// The parameter's value; an error when absent or repeated.
    pub fn require(&self, name: &str) -> Result<&str, Reason> {
        self.get(name)?.ok_or(Reason::MissingParameter)
    }

    /// Whether any parameter was sent more than once.
    pub fn has_repeats(&self) -> bool {
        self.values
            .values()
            .any(|p| matches!(p, Param::Repeated(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repeated_parameters_are_refused_when_read() {
        let form = Form::parse(b"a=1&b=2&a=3").unwrap();
        assert_eq!(form.get("a"), Err(Reason::DuplicateParameter));
        assert_eq!(form.get("b"), Ok(Some("2")));
        assert!(form.has_repeats());
    }

    #[test]
    fn a_list_field_keeps_every_value_in_order() {
        let form = Form::parse(b"grant_id=g1&x=1&grant_id=g2&grant_id=g3").unwrap();
        assert_eq!(form.all("grant_id"), ["g1", "g2", "g3"]);
        assert_eq!(form.all("x"), ["1"]);
        assert!(form.all("y").is_empty());
        assert_eq!(form.get("grant_id"), Err(Reason::DuplicateParameter));
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let form = Form::parse(b"state=&scope=read").unwrap();
        assert_eq!(form.get("state"), Ok(None));
        assert_eq!(form.require("state"), Err(Reason::MissingParameter));
        assert!(!form.has_repeats());
    }

    #[test]
    fn values_are_percent_decoded() {
        let form =
            Form::parse(b"redirect_uri=https%3A%2F%2Fa.example%2Fcb&scope=read+write").unwrap();
        assert_eq!(form.get("redirect_uri"), Ok(Some("https://a.example/cb")));
        assert_eq!(form.get("scope"), Ok(Some("read write")));
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = vec![b'a'; MAX_FORM_BYTES + 1];
        assert_eq!(Form::parse(&big).unwrap_err(), Reason::BodyTooLarge);
    }

    proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(form) = Form::parse(&input) {
                let _ = form.get("a");
            }
        }
    }
}
