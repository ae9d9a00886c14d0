//! The `state` parameter of an authorization request (RFC 6749 §4.1.1, Appendix A.5), echoed
//! unchanged in the redirect back to the client.
//!
//! Not here: CSRF protection of our own forms (that is `secret::CsrfToken`); `state` protects the
//! client, and we only carry it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Reason;

/// The longest `state` we carry back, in bytes. RFC 6749 sets no limit; ours keeps the redirect
/// URL well inside what browsers and proxies accept.
pub const MAX_STATE_BYTES: usize = 1024;

/// An opaque client value, 1 to 1024 `VSCHAR`s (RFC 6749 Appendix A.5: `state = 1*VSCHAR`,
/// `VSCHAR = %x20-7E`). Not a secret of ours: it travels in the front channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct State(String);

impl State {
    /// Parses the `state` of an authorization request.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        if raw.len() > MAX_STATE_BYTES {
            return Err(Reason::StateTooLong);
        }
        if raw.is_empty() || !raw.bytes().all(is_vschar) {
            return Err(Reason::StateMalformed);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The value exactly as the client sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 6749 Appendix A: `VSCHAR = %x20-7E`.
fn is_vschar(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for State {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for State {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl From<State> for String {
    fn from(state: State) -> Self {
        state.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn state_is_one_or_more_vschars_up_to_1024_bytes() {
        let longest = "s".repeat(MAX_STATE_BYTES);
        let too_long = "s".repeat(MAX_STATE_BYTES + 1);
        let rows: [(&str, Result<(), Reason>, &str); 10] = [
            ("xyz", Ok(()), "RFC 6749 §4.1.1 example"),
            ("af0ifjsldkj", Ok(()), "RFC 6749 §4.1.2 example"),
            ("a b", Ok(()), "RFC 6749 A.5: VSCHAR includes space"),
            (" ", Ok(()), "RFC 6749 A.5: VSCHAR includes space"),
            ("{\"json\":[1]}", Ok(()), "RFC 6749 A.5: any VSCHAR"),
            (&longest, Ok(()), "our bound"),
            (&too_long, Err(Reason::StateTooLong), "our bound"),
            ("", Err(Reason::StateMalformed), "RFC 6749 A.5: 1*VSCHAR"),
            (
                "a\nb",
                Err(Reason::StateMalformed),
                "RFC 6749 A.5: no control characters",
            ),
            ("é", Err(Reason::StateMalformed), "RFC 6749 A.5: ASCII only"),
        ];
        for (raw, expected, rule) in rows {
            let parsed = State::parse(raw);
            assert_eq!(
                parsed.as_ref().map(|_| ()),
                expected.as_ref().copied(),
                "{raw:?}: {rule}"
            );
            if let Ok(state) = parsed {
                assert_eq!(state.as_str(), raw, "{rule}: echoed unchanged");
            }
        }
    }

    proptest! {
        #[test]
        fn parse_accepts_exactly_the_grammar(raw in any::<String>()) {
            let expected = if raw.len() > MAX_STATE_BYTES {
                Err(Reason::StateTooLong)
            } else if raw.is_empty() || !raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                Err(Reason::StateMalformed)
            } else {
                Ok(raw.clone())
            };
            prop_assert_eq!(State::parse(&raw).map(String::from), expected);
        }

        #[test]
        fn grammar_strings_round_trip(raw in "[ -~]{1,1024}") {
            let state = State::parse(&raw).unwrap();
            prop_assert_eq!(state.as_str(), raw.as_str());
            let json = serde_json::to_string(&state).unwrap();
            prop_assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        }
    }
}
