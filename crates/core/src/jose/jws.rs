//! Compact JWS (RFC 7515 §7.1) with ES256 (RFC 7518 §3.4): signing with the server's keys, shared
//! by access tokens and origin assertions, and the one encoding of an ES256 signature that
//! gatehouse accepts.
//!
//! An ECDSA signature `(r, s)` has a twin `(r, n − s)` that verifies just as well (SEC 1 §4.1.4
//! checks only `1 ≤ s < n`), so every signed token has a second spelling that nobody signed.
//! gatehouse keys caches and logs by the token text and promises "one token, one encoding":
//! it signs only low-`s` signatures (`s ≤ n/2`, normalising after the platform signs: access
//! tokens and origin assertions) and refuses a high-`s` one wherever it verifies a JWS it
//! issued (access tokens). JWSs signed by others are verified as their signers make them: an
//! upstream provider's ID tokens (`crate::oidc::id_token`) and clients' `private_key_jwt`
//! assertions (`crate::client_assertion`), each used once and never keyed by its text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::jose::signer::{AccessSigner, Signer};
use crate::store::StoreError;

/// The only algorithm gatehouse signs with (RFC 7518 §3.4).
pub const ALG: &str = "ES256";

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

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` with the current key, with `typ` in the header (RFC 8725 §3.11: explicit
/// typing keeps one kind of JWT from being accepted as another). The signature is low-`s`.
pub async fn sign<T: Serialize>(
    signer: &impl Signer,
    typ: &str,
    claims: &T,
) -> Result<String, StoreError> {
    let kid = signer.current_kid().await?;
    let header = Header {
        alg: ALG,
        typ,
        kid: &kid,
    };
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
    let signature = signer.sign(&kid, signing_input.as_bytes()).await?;
    let signature = Es256Signature::normalize(&signature)
        .ok_or_else(|| StoreError(format!("key {kid} made a malformed ES256 signature")))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// The algorithm of the Access-compatible assertion (RFC 7518 §3.3), the one Cloudflare Access
/// signs with. RSASSA-PKCS1-v1_5 is deterministic: a key has one signature per message, so the
/// low-`s` rule above has nothing to do here.
pub const RS256: &str = "RS256";

/// Signs `claims` with the current RS256 key, with `typ: JWT` in the header as Access does.
pub async fn sign_rs256<T: Serialize>(
    signer: &impl AccessSigner,
    claims: &T,
) -> Result<String, StoreError> {
    let kid = signer.access_kid().await?;
    let header = Header {
        alg: RS256,
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
    }
}
