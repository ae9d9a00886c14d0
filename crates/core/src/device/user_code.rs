//! The user code of the device authorization grant (RFC 8628 §3.2, §6.1): eight letters from a
//! 20-consonant alphabet, shown as `XXXX-XXXX`, typed by the person on the verification page.
//!
//! RFC 8628 §6.1: "the authorization server should ignore any characters like punctuation that
//! are not in the character set" and compare case-insensitively; we accept lower case, the dash
//! and surrounding whitespace, and nothing else. No vowels, so no word is ever spelled; no digits,
//! so nothing is confused with a letter.
//!
//! 20^8 ≈ 2^34.6 codes: guessable by brute force, which is why the verification page limits
//! wrong guesses per person ([`crate::device::MAX_WRONG_USER_CODES`]) and codes live only
//! [`crate::device::DEVICE_CODE_TTL_SECS`]. The code is stored as an HMAC under a key derived
//! from the server secret, so a copy of the database does not list the codes in play.

use std::fmt;

use crate::crypto::hmac_sha256;
use crate::rng::Rng;
use crate::secret::SecretHash;

/// The alphabet (RFC 8628 §6.1's example: "BCDFGHJKLMNPQRSTVWXZ").
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Letters in a user code.
pub const LENGTH: usize = 8;
/// The longest input looked at; anything longer is not a user code (and is not worth parsing).
const MAX_INPUT_BYTES: usize = 32;
/// Random bytes at or above this are discarded, so that `byte % 20` is uniform (240 = 12 × 20).
const UNBIASED_LIMIT: u8 = 240;

/// A user code, normalised: eight upper-case letters of [`ALPHABET`], no dash.
pub struct UserCode(String);

/// Input that is not a user code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MalformedUserCode;

impl UserCode {
    /// A fresh code: eight letters drawn uniformly from [`ALPHABET`].
    pub fn issue(rng: &impl Rng) -> Self {
        let mut code = String::with_capacity(LENGTH);
        let mut bytes = [0u8; 16];
        while code.len() < LENGTH {
            rng.fill(&mut bytes);
            for byte in bytes.iter().filter(|b| **b < UNBIASED_LIMIT) {
                if code.len() == LENGTH {
                    break;
                }
                if let Some(&letter) = ALPHABET.get(usize::from(byte % 20)) {
                    code.push(char::from(letter));
                }
            }
        }
        Self(code)
    }

    /// Parses what a person typed: case-insensitive, one optional dash after the fourth letter,
    /// whitespace around it ignored.
    pub fn parse(input: &str) -> Result<Self, MalformedUserCode> {
        let input = input.trim();
        if input.len() > MAX_INPUT_BYTES {
            return Err(MalformedUserCode);
        }
        let letters = match input.split_once('-') {
            Some((first, second)) if first.len() == LENGTH / 2 => format!("{first}{second}"),
            Some(_) => return Err(MalformedUserCode),
            None => input.to_owned(),
        };
        let letters = letters.to_ascii_uppercase();
        if letters.len() == LENGTH && letters.bytes().all(|b| ALPHABET.contains(&b)) {
            Ok(Self(letters))
        } else {
            Err(MalformedUserCode)
        }
    }

    /// The code as shown to the person: `XXXX-XXXX`.
    pub fn display(&self) -> String {
        let (first, second) = self.0.split_at(LENGTH / 2);
        format!("{first}-{second}")
    }

    /// The keyed digest under which the code is stored and looked up: HMAC-SHA256 of the
    /// normalised code under `key` (derived from the server secret).
    pub fn hash(&self, key: &[u8; 32]) -> SecretHash {
        SecretHash::from_digest(&hmac_sha256(key, &[self.0.as_bytes()]))
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeqRng;
    use proptest::prelude::*;

    #[test]
    fn issued_codes_use_the_alphabet_and_show_with_a_dash() {
        let rng = SeqRng::new(0);
        for _ in 0..200 {
            let code = UserCode::issue(&rng);
            let shown = code.display();
            assert_eq!(shown.len(), 9, "{shown}");
            assert_eq!(shown.as_bytes()[4], b'-', "{shown}");
            assert!(code.0.bytes().all(|b| ALPHABET.contains(&b)), "{shown}");
        }
    }

    #[test]
    fn typing_is_forgiving_about_case_dash_and_whitespace() {
        let key = [7u8; 32];
        let canonical = UserCode::parse("WDJB-MJHT").unwrap().hash(&key);
        for typed in [
            "WDJB-MJHT",
            "wdjb-mjht",
            "WDJBMJHT",
            "wdjbmjht",
            "  WdJb-MjHt \n",
        ] {
            assert!(
                UserCode::parse(typed).unwrap().hash(&key) == canonical,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for typed in [
            "",
            "WDJB",
            "WDJB-MJH",
            "WDJB-MJHTX",
            "WDJ-BMJHT",
            "WDJB--MJHT",
            "WDJB-MJ-HT",
            "WDJB MJHT",
            "AEIO-UAEI",
            "WDJB-MJH1",
            "WDJB_MJHT",
            "ẄDJB-MJHT",
        ] {
            assert_eq!(
                UserCode::parse(typed).map(|_| ()),
                Err(MalformedUserCode),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn the_stored_digest_depends_on_the_key_and_is_not_the_code() {
        let code = UserCode::parse("WDJB-MJHT").unwrap();
        assert!(code.hash(&[1; 32]) != code.hash(&[2; 32]));
        assert!(!code.hash(&[1; 32]).as_hex().contains("WDJB"));
        assert_eq!(format!("{code:?}"), "UserCode([redacted])");
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC{0,40}") {
            let _ = UserCode::parse(&input);
        }

        #[test]
        fn an_accepted_code_round_trips_through_its_display(input in "[BCDFGHJKLMNPQRSTVWXZbcdfghjklmnpqrstvwxz]{4}-?[BCDFGHJKLMNPQRSTVWXZbcdfghjklmnpqrstvwxz]{4}") {
            let code = UserCode::parse(&input).unwrap();
            let again = UserCode::parse(&code.display()).unwrap();
            prop_assert_eq!(&code.0, &again.0);
            prop_assert_eq!(code.0, input.replace('-', "").to_ascii_uppercase());
        }

        #[test]
        fn every_accepted_code_is_eight_alphabet_letters(input in "[A-Za-z\\- ]{0,12}") {
            if let Ok(code) = UserCode::parse(&input) {
                prop_assert_eq!(code.0.len(), LENGTH);
                prop_assert!(code.0.bytes().all(|b| ALPHABET.contains(&b)));
            }
        }
    }
}
