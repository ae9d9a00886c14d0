//! Client identifiers (RFC 6749 §2.2, Appendix A.1).
//!
//! Not here: whether a client with this id exists (the client store), or whether an `https`
//! client id is a Client ID Metadata Document URL (the registration module decides that).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Reason;
use crate::rng::Rng;
use crate::tag::TagKey;

/// The longest client id we accept, in bytes. RFC 6749 §2.2: "The authorization server SHOULD
/// document the size of any identifier it issues."
pub const MAX_CLIENT_ID_BYTES: usize = 255;

/// A client identifier: 1 to 255 visible ASCII characters (`%x21-7E`).
///
/// RFC 6749 Appendix A.1 defines `client-id = *VSCHAR` with `VSCHAR = %x20-7E`. We refuse the
/// space that `VSCHAR` includes, and the empty id: an id such as `"agent "` would look like
/// `"agent"` in logs and on the consent page, and no client we issue, configure or fetch (Client
/// ID Metadata Document URLs) has one. If a pre-registered third-party client ever needs a space,
/// widen `is_client_id_byte` and add a test.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Parses a `client_id` from a request, a registration or configuration.
    pub fn parse(raw: &str) -> Result<Self, Reason> {
        if raw.is_empty() || raw.len() > MAX_CLIENT_ID_BYTES || !raw.bytes().all(is_client_id_byte)
        {
            return Err(Reason::ClientIdMalformed);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A fresh id for a dynamically registered client: `c_` and 128 random bits in hex, sealed
    /// with `key` (a dot and a 22-character tag, [`crate::tag`]), 57 characters. Not a secret
    /// (public clients send it in the clear), but unguessable, so ids cannot be enumerated; the
    /// tag lets a made-up id be refused without a lookup (`crate::identifiers`).
    pub fn issue(key: &TagKey, rng: &impl Rng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        Self(key.seal(&format!("c_{}", crate::crypto::hex(&bytes))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `%x21-7E`: `VSCHAR` (RFC 6749 Appendix A) without the space.
fn is_client_id_byte(b: u8) -> bool {
    b.is_ascii_graphic()
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ClientId {
    type Err = Reason;

    fn from_str(raw: &str) -> Result<Self, Reason> {
        Self::parse(raw)
    }
}

impl TryFrom<String> for ClientId {
    type Error = Reason;

    fn try_from(raw: String) -> Result<Self, Reason> {
        Self::parse(&raw)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> Self {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn client_ids_are_one_to_255_visible_ascii_characters() {
        let longest = "x".repeat(MAX_CLIENT_ID_BYTES);
        let too_long = "x".repeat(MAX_CLIENT_ID_BYTES + 1);
        let rows: [(&str, bool, &str); 11] = [
            ("agent", true, "RFC 6749 §2.2"),
            (
                "https://client.example/metadata.json",
                true,
                "CIMD: the id is an https URL",
            ),
            ("!~\"\\", true, "RFC 6749 A.1: VSCHAR punctuation"),
            (&longest, true, "RFC 6749 §2.2: documented size"),
            (&too_long, false, "RFC 6749 §2.2: documented size"),
            ("", false, "RFC 6749 §2.2: an identifier is not empty"),
            ("agent ", false, "narrower than VSCHAR: no space"),
            ("a b", false, "narrower than VSCHAR: no space"),
            ("agent\n", false, "RFC 6749 A.1: no control characters"),
            ("\u{0}", false, "RFC 6749 A.1: no control characters"),
            ("agént", false, "RFC 6749 A.1: ASCII only"),
        ];
        for (raw, ok, rule) in rows {
            let parsed = ClientId::parse(raw);
            if ok {
                assert_eq!(
                    parsed.map(|id| id.as_str().to_owned()),
                    Ok(raw.to_owned()),
                    "{rule}"
                );
            } else {
                assert_eq!(parsed, Err(Reason::ClientIdMalformed), "{raw:?}: {rule}");
            }
        }
    }

    #[test]
    fn serde_goes_through_parse() {
        let id: ClientId = serde_json::from_str(r#""agent""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""agent""#);
        assert!(serde_json::from_str::<ClientId>(r#""""#).is_err());
        assert!(serde_json::from_str::<ClientId>(r#""a b""#).is_err());
    }

    proptest! {
        #[test]
        fn parse_accepts_exactly_the_grammar(raw in any::<String>()) {
            let allowed = !raw.is_empty()
                && raw.len() <= MAX_CLIENT_ID_BYTES
                && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
            prop_assert_eq!(ClientId::parse(&raw).is_ok(), allowed);
        }

        #[test]
        fn grammar_strings_round_trip(raw in "[!-~]{1,255}") {
            let id = ClientId::parse(&raw).unwrap();
            prop_assert_eq!(id.as_str(), raw.as_str());
            prop_assert_eq!(id.to_string().parse::<ClientId>(), Ok(id));
        }
    }
}
