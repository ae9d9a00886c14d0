//! Compact JWS (RFC 7515 §7.1), once for every caller: the parser every JWS gatehouse reads goes
//! through (access tokens, clients' `private_key_jwt` assertions, upstream ID tokens), with a
//! size cap, `crit` refused and the algorithm chosen by the caller, never by the token (RFC 8725
//! §3.1); signature verification; signing with the server's keys (access tokens, origin
//! assertions, the Access-compatible assertion); and the one encoding of an ES256 signature that
//! gatehouse makes.
//!
//! Each caller keeps its own claim checks (`crate::access_token`, `crate::client_assertion`,
//! `crate::oidc::id_token`) and maps [`JwsError`] to its own `Reason`. Not here: JWE, JSON
//! serialization, unencoded payloads (RFC 7797, which needs `crit`), `none`, and the HMAC family.
//!
//! An ECDSA signature `(r, s)` has a twin `(r, n − s)` that verifies just as well (SEC 1 §4.1.4
//! checks only `1 ≤ s < n`), so every signed token has a second spelling that nobody signed.
//! gatehouse keys caches and logs by the token text and promises "one token, one encoding":
//! it signs only low-`s` signatures (`s ≤ n/2`, normalising after the platform signs: access
//! tokens and origin assertions) and refuses a high-`s` one wherever it verifies a JWS it
//! issued (access tokens: [`HighS::Refused`]). JWSs signed by others are verified as their
//! signers make them ([`HighS::Accepted`]): an upstream provider's ID tokens
//! (`crate::oidc::id_token`) and clients' `private_key_jwt` assertions
//! (`crate::client_assertion`), each used once and never keyed by its text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::alg::Alg;
use super::signer::{AccessSigner, Signer, SigningError};

/// The length of an ES256 signature in a JWS: `R || S`, 32 bytes each (RFC 7518 §3.4).
pub const ES256_SIGNATURE_BYTES: usize = 64;

/// `n`, the order of the P-256 base point (SEC 2 v2 §2.4.2; FIPS 186-4 §D.1.2.3), big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
/// `⌊n / 2⌋`: the largest `s` of a low-`s` signature.
const P256_HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// An ES256 signature (`R || S`) in the one encoding gatehouse accepts: `1 ≤ s ≤ n/2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Es256Signature {
    r: [u8; 32],
    s: [u8; 32],
}

impl Es256Signature {
    /// A presented signature, if it is 64 bytes with a low, non-zero `s`. A high-`s` signature
    /// is refused even though it may verify: it is the twin of one gatehouse (or the client)
    /// signed, spelt differently.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (r, s) = halves(bytes)?;
        (s != [0; 32] && s <= P256_HALF_ORDER).then_some(Self { r, s })
    }

    /// A signature the platform just made, with `s` replaced by `n − s` when it is high
    /// (WebCrypto's ECDSA, like most, does not normalise). `None` when it is not 64 bytes or
    /// `s` is not in `1..n`, which no working signer produces.
    pub fn normalize(bytes: &[u8]) -> Option<Self> {
        let (r, s) = halves(bytes)?;
        if s == [0; 32] || s >= P256_ORDER {
            return None;
        }
        let s = if s > P256_HALF_ORDER {
            sub(&P256_ORDER, &s)
        } else {
            s
        };
        Some(Self { r, s })
    }

    /// The 64 bytes, `R || S`.
    pub fn to_bytes(&self) -> Vec<u8> {
        [self.r, self.s].concat()
    }
}

/// `R` and `S` of a 64-byte `R || S`, big-endian.
fn halves(bytes: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let (r, s) = bytes.split_first_chunk::<32>()?;
    Some((*r, <[u8; 32]>::try_from(s).ok()?))
}

/// `a − b` for big-endian 256-bit integers with `a ≥ b`.
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0; 32];
    let mut borrow = false;
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b).rev() {
        let (d, under1) = x.overflowing_sub(y);
        let (d, under2) = d.overflowing_sub(u8::from(borrow));
        *o = d;
        borrow = under1 || under2;
    }
    out
}

/// Why a JWS was refused. Callers map each to their own `Reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwsError {
    /// Longer than the caller's cap: refused before any decoding.
    TooLarge,
    /// Not three base64url parts, a header that is not a JSON object, or a payload that is not
    /// the JSON the caller expects.
    Malformed,
    /// The header has `crit`. RFC 7515 §4.1.11: "If any of the listed extension Header
    /// Parameters are not understood and supported by the recipient, then the JWS is invalid."
    /// gatehouse understands none.
    CriticalHeader,
    /// An `alg` the caller does not accept (`none`, `HS256`, or a known one it did not list).
    AlgorithmRefused,
    /// The signature does not verify, has the wrong shape, or is the high-`s` twin where only
    /// low `s` is accepted.
    SignatureInvalid,
}

/// What a caller accepts: the algorithms (its choice, not the token's: RFC 8725 §3.1) and the
/// longest token, in bytes.
#[derive(Clone, Copy, Debug)]
pub struct Accept<'a> {
    /// The algorithms accepted.
    pub algs: &'a [Alg],
    /// The longest token accepted, in bytes.
    pub max_bytes: usize,
}

/// Whether an ES256 signature with a high `s` is accepted. A deliberate leniency, stated by the
/// caller: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HighS {
    /// Only the low-`s` spelling: JWSs gatehouse signed (one token, one encoding).
    Refused,
    /// Either spelling: JWSs others sign with whatever ECDSA they have.
    Accepted,
}

#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A compact JWS that passed [`parse`]: its header read, its signature not yet verified.
#[derive(Debug)]
pub struct Jws<'t> {
    /// The algorithm, one the caller accepts.
    pub alg: Alg,
    /// `kid`, if the header has one.
    pub kid: Option<String>,
    /// `typ`, if the header has one (RFC 8725 §3.11: explicit typing).
    pub typ: Option<String>,
    signing_input: &'t str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Parses a compact JWS (RFC 7515 §7.2.1 steps 1–6): at most `accept.max_bytes`, three
/// base64url parts without padding, a header that is a JSON object without `crit` and with an
/// `alg` the caller accepts.
pub fn parse<'t>(token: &'t str, accept: &Accept<'_>) -> Result<Jws<'t>, JwsError> {
    if token.len() > accept.max_bytes {
        return Err(JwsError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(header_b64)?).map_err(|_| JwsError::Malformed)?;
    if header.crit.is_some() {
        return Err(JwsError::CriticalHeader);
    }
    let alg = Alg::parse(&header.alg)
        .filter(|alg| accept.algs.contains(alg))
        .ok_or(JwsError::AlgorithmRefused)?;
    let signing_input = token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(JwsError::Malformed)?;
    Ok(Jws {
        alg,
        kid: header.kid,
        typ: header.typ,
        signing_input,
        payload: decode(payload_b64)?,
        signature: decode(signature_b64)?,
    })
}

impl Jws<'_> {
    /// The payload as `T`, before the signature is verified: only to find out who claims to
    /// have signed it (a client assertion's `sub`) or to refuse it early.
    pub fn unverified_claims<T: DeserializeOwned>(&self) -> Result<T, JwsError> {
        serde_json::from_slice(&self.payload).map_err(|_| JwsError::Malformed)
    }

    /// Verifies the signature (RFC 7515 §5.2 step 8): an ES256 signature must be 64 bytes with
    /// `s` in range, and low unless `high_s` accepts it; then `check` (the platform's
    /// verification of the signing input and the signature under the caller's key) decides.
    /// `Err` only when `check` failed for a reason that is not the token's.
    pub async fn verify<E>(
        self,
        high_s: HighS,
        check: impl AsyncFnOnce(&[u8], &[u8]) -> Result<bool, E>,
    ) -> Result<Result<Verified, JwsError>, E> {
        let shape_ok = match (self.alg, high_s) {
            (Alg::Es256, HighS::Refused) => Es256Signature::parse(&self.signature).is_some(),
            (Alg::Es256, HighS::Accepted) => Es256Signature::normalize(&self.signature).is_some(),
            (Alg::Rs256, _) => true,
        };
        if !shape_ok {
            return Ok(Err(JwsError::SignatureInvalid));
        }
        // The signature as presented: a high-`s` one, where accepted, verifies as it is.
        if !check(self.signing_input.as_bytes(), &self.signature).await? {
            return Ok(Err(JwsError::SignatureInvalid));
        }
        Ok(Ok(Verified {
            payload: self.payload,
        }))
    }
}

/// The payload of a JWS whose signature verified.
#[derive(Debug)]
pub struct Verified {
    payload: Vec<u8>,
}

impl Verified {
    /// The payload's bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as `T`.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, JwsError> {
        serde_json::from_slice(&self.payload).map_err(|_| JwsError::Malformed)
    }
}

#[derive(Serialize)]
struct SignedHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` with the current ES256 key, with `typ` in the header (RFC 8725 §3.11:
/// explicit typing keeps one kind of JWT from being accepted as another). The signature is
/// low-`s`.
pub async fn sign<T: Serialize>(
    signer: &impl Signer,
    typ: &str,
    claims: &T,
) -> Result<String, SigningError> {
    let kid = signer.current_kid().await?;
    let header = SignedHeader {
        alg: Alg::Es256.as_str(),
        typ,
        kid: &kid,
    };
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
    let signature = signer.sign(&kid, signing_input.as_bytes()).await?;
    let signature = Es256Signature::normalize(&signature)
        .ok_or_else(|| SigningError(format!("key {kid} made a malformed ES256 signature")))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// Signs `claims` with the current RS256 key of the Access-compatible assertion, with `typ: JWT`
/// in the header as Access does. RSASSA-PKCS1-v1_5 is deterministic: a key has one signature
/// per message, so the low-`s` rule has nothing to do here.
pub async fn sign_rs256<T: Serialize>(
    signer: &impl AccessSigner,
    claims: &T,
) -> Result<String, SigningError> {
    let kid = signer.access_kid().await?;
    let header = SignedHeader {
        alg: Alg::Rs256.as_str(),
        typ: "JWT",
        kid: &kid,
    };
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
    let signature = signer.access_sign(&kid, signing_input.as_bytes()).await?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn b64_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs of strings and integers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_s(s: [u8; 32]) -> Vec<u8> {
        [[7u8; 32], s].concat()
    }

    fn one() -> [u8; 32] {
        let mut one = [0; 32];
        one[31] = 1;
        one
    }

    #[test]
    fn half_the_order_is_the_largest_low_s() {
        // n is odd, so n − ⌊n/2⌋ = ⌊n/2⌋ + 1: the halves meet without overlapping.
        assert_eq!(sub(&P256_ORDER, &P256_HALF_ORDER), {
            let mut above = P256_HALF_ORDER;
            above[31] += 1;
            above
        });
        assert!(Es256Signature::parse(&with_s(P256_HALF_ORDER)).is_some());
        let mut above = P256_HALF_ORDER;
        above[31] += 1;
        assert!(Es256Signature::parse(&with_s(above)).is_none());
        assert!(Es256Signature::parse(&with_s(one())).is_some());
    }

    #[test]
    fn zero_wrong_lengths_and_out_of_range_s_are_refused() {
        assert!(Es256Signature::parse(&with_s([0; 32])).is_none());
        assert!(Es256Signature::parse(&[1; 63]).is_none());
        assert!(Es256Signature::parse(&[1; 65]).is_none());
        assert!(Es256Signature::parse(&[]).is_none());
        assert!(Es256Signature::normalize(&with_s([0; 32])).is_none());
        assert!(Es256Signature::normalize(&with_s(P256_ORDER)).is_none());
        assert!(Es256Signature::normalize(&with_s([0xff; 32])).is_none());
        assert!(Es256Signature::normalize(&[1; 63]).is_none());
    }

    #[test]
    fn normalizing_maps_n_minus_one_to_one_and_keeps_r() {
        let n_minus_one = sub(&P256_ORDER, &one());
        let normal = Es256Signature::normalize(&with_s(n_minus_one)).unwrap();
        assert_eq!(normal.to_bytes(), with_s(one()));
    }

    fn b64(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    const BOTH: Accept<'static> = Accept {
        algs: &[Alg::Es256, Alg::Rs256],
        max_bytes: 1024,
    };

    /// A token with `header` and a signature whose `s` is `s`.
    fn token_with_s(header: &str, s: [u8; 32]) -> String {
        format!(
            "{}.{}.{}",
            b64(header),
            b64("{}"),
            URL_SAFE_NO_PAD.encode(with_s(s))
        )
    }

    fn verify(token: &str, high_s: HighS) -> Result<(), JwsError> {
        let jws = parse(token, &BOTH)?;
        futures::executor::block_on(jws.verify(high_s, async |_, _| Ok::<_, ()>(true)))
            .unwrap()
            .map(|_| ())
    }

    #[test]
    fn the_header_is_read_and_the_caller_chooses_the_algorithms() {
        let token = token_with_s(r#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#, one());
        let jws = parse(&token, &BOTH).unwrap();
        assert_eq!(
            (jws.alg, jws.kid.as_deref(), jws.typ.as_deref()),
            (Alg::Es256, Some("k"), Some("at+jwt"))
        );
        let rs256_only = Accept {
            algs: &[Alg::Rs256],
            max_bytes: 1024,
        };
        assert_eq!(
            parse(&token, &rs256_only).unwrap_err(),
            JwsError::AlgorithmRefused
        );
        for header in [
            r#"{"alg":"none"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"es256"}"#,
            "{}",
        ] {
            let token = token_with_s(header, one());
            let expected = if header == "{}" {
                JwsError::Malformed
            } else {
                JwsError::AlgorithmRefused
            };
            assert_eq!(parse(&token, &BOTH).unwrap_err(), expected, "{header}");
        }
        let crit = token_with_s(r#"{"alg":"ES256","crit":[]}"#, one());
        assert_eq!(parse(&crit, &BOTH).unwrap_err(), JwsError::CriticalHeader);
        assert_eq!(
            parse(&"a".repeat(1025), &BOTH).unwrap_err(),
            JwsError::TooLarge
        );
    }

    #[test]
    fn a_high_s_signature_verifies_only_where_the_caller_accepts_it() {
        let mut high = P256_HALF_ORDER;
        high[31] += 1;
        let header = r#"{"alg":"ES256"}"#;
        assert_eq!(verify(&token_with_s(header, one()), HighS::Refused), Ok(()));
        assert_eq!(
            verify(&token_with_s(header, high), HighS::Refused),
            Err(JwsError::SignatureInvalid)
        );
        assert_eq!(verify(&token_with_s(header, high), HighS::Accepted), Ok(()));
        // Out of range or the wrong length is refused either way, before the platform is asked.
        for high_s in [HighS::Refused, HighS::Accepted] {
            assert_eq!(
                verify(&token_with_s(header, P256_ORDER), high_s),
                Err(JwsError::SignatureInvalid)
            );
            let short = format!("{}.{}.{}", b64(header), b64("{}"), b64("short"));
            assert_eq!(verify(&short, high_s), Err(JwsError::SignatureInvalid));
        }
    }

    #[test]
    fn the_platform_sees_the_signing_input_and_the_signature_as_presented() {
        let mut high = P256_HALF_ORDER;
        high[31] += 1;
        let token = token_with_s(r#"{"alg":"ES256"}"#, high);
        let jws = parse(&token, &BOTH).unwrap();
        let verified =
            futures::executor::block_on(jws.verify(HighS::Accepted, async |input, signature| {
                assert_eq!(input, token.rsplit_once('.').unwrap().0.as_bytes());
                assert_eq!(signature, with_s(high));
                Ok::<_, ()>(false)
            }));
        assert_eq!(verified.unwrap().unwrap_err(), JwsError::SignatureInvalid);
    }

    proptest! {
        #[test]
        fn normalizing_yields_the_low_twin_and_leaves_low_s_alone(
            r in any::<[u8; 32]>(),
            s in any::<[u8; 32]>(),
        ) {
            prop_assume!(s != [0; 32] && s < P256_ORDER);
            let signature = [r, s].concat();
            let normal = Es256Signature::normalize(&signature).unwrap();
            prop_assert!(Es256Signature::parse(&normal.to_bytes()).is_some());
            prop_assert_eq!(normal.r, r);
            if s <= P256_HALF_ORDER {
                prop_assert_eq!(normal.to_bytes(), signature);
            } else {
                prop_assert!(Es256Signature::parse(&signature).is_none());
                // The twin's s and the original's add up to n.
                prop_assert_eq!(sub(&P256_ORDER, &normal.s), s);
            }
        }

        #[test]
        fn parsing_never_panics(token in ".{0,300}") {
            let _ = parse(&token, &BOTH);
        }
    }
}
