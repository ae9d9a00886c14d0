//! The ID token (OpenID Connect Core §2, §3.1.3.7): parsing the compact JWS, choosing the
//! provider's key by `kid`, and the claim checks. Verifying the signature itself is the
//! platform's ([`super::JwsVerifier`]: WebCrypto in the Worker).
//!
//! Only `RS256` and `ES256` are accepted. `none` and the `HS*` family are refused: an ID token
//! from the token endpoint could be MACed with the client secret (§10.1), but gatehouse does not
//! ask for that, and refusing them closes the algorithm-confusion door.
//!
//! An `ES256` ID token with a high `s` is accepted, unlike the JWSs of `crate::jose::jws`: the
//! provider signs it, not gatehouse, and many providers' ECDSA (WebCrypto, OpenSSL, Go before
//! it normalised) leave half their signatures high, so refusing them would fail every other
//! login. Malleability buys nothing here: the token arrives once, from the provider's token
//! endpoint over TLS, is bound to one login by its `nonce` and to the state consumed once, and
//! is never stored, cached or compared by its text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::crypto::ct_eq_digest;
use crate::error::Reason;
use crate::time::UnixTime;

/// Longest ID token accepted, in bytes (a token with a few hundred groups fits).
pub const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;
/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;

/// A JWS algorithm gatehouse verifies (RFC 7518 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwsAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256: the OpenID Connect default (Core §3.1.3.7 item 7).
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl JwsAlg {
    fn parse(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// A public key from the provider's JWK Set (RFC 7517 §4), as much as verification needs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Jwk {
    /// `RSA` or `EC`.
    pub kty: String,
    /// The key id.
    #[serde(default)]
    pub kid: Option<String>,
    /// `sig` or `enc`.
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    /// The algorithm the key is for, if stated.
    #[serde(default)]
    pub alg: Option<String>,
    /// RSA modulus.
    #[serde(default)]
    pub n: Option<String>,
    /// RSA exponent.
    #[serde(default)]
    pub e: Option<String>,
    /// EC curve.
    #[serde(default)]
    pub crv: Option<String>,
    /// EC x coordinate.
    #[serde(default)]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(default)]
    pub y: Option<String>,
}

impl Jwk {
    /// Whether this key can verify `alg`.
    fn fits(&self, alg: JwsAlg) -> bool {
        let kind = match alg {
            JwsAlg::Rs256 => self.kty == "RSA" && self.n.is_some() && self.e.is_some(),
            JwsAlg::Es256 => {
                self.kty == "EC"
                    && self.crv.as_deref() == Some("P-256")
                    && self.x.is_some()
                    && self.y.is_some()
            }
        };
        kind && self.use_.as_deref().is_none_or(|u| u == "sig")
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }
}

/// A JWK Set (RFC 7517 §5). Keys that do not parse are skipped, not fatal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWK Set document; `None` if it is not one.
    pub fn parse(document: &str) -> Option<Self> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(document).ok()?;
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|k| serde_json::from_value(k).ok())
            .collect();
        Some(Self { keys })
    }

    /// The key for a token signed with `alg` under `kid`. Without a `kid`, the one key that
    /// fits, if exactly one does (Core §10.1: "the kid value MAY be omitted" when one key).
    pub fn find(&self, alg: JwsAlg, kid: Option<&str>) -> Option<&Jwk> {
        let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
        match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let first = fitting.next()?;
                fitting.next().is_none().then_some(first)
            }
        }
    }
}

/// A compact JWS split into what verification needs.
#[derive(Debug)]
pub struct SignedToken<'a> {
    /// The algorithm from the header.
    pub alg: JwsAlg,
    /// The key id from the header.
    pub kid: Option<String>,
    /// `header.payload`, the bytes that were signed.
    pub signing_input: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
    /// The decoded payload (the claims, still unchecked).
    pub payload: Vec<u8>,
}

/// Splits an ID token. Refuses anything but three base64url parts with an accepted `alg`.
pub fn split(token: &str) -> Result<SignedToken<'_>, Reason> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
        crit: Option<serde_json::Value>,
    }
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(Reason::IdTokenMalformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::IdTokenMalformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| Reason::IdTokenMalformed)
    };
    let parsed: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| Reason::IdTokenMalformed)?;
    // RFC 7515 §4.1.11: a recipient that does not understand a `crit` extension must refuse.
    if parsed.crit.is_some() {
        return Err(Reason::IdTokenMalformed);
    }
    let alg = JwsAlg::parse(&parsed.alg).ok_or(Reason::IdTokenAlgorithmRefused)?;
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(Reason::IdTokenMalformed)?;
    Ok(SignedToken {
        alg,
        kid: parsed.kid,
        signing_input,
        signature: decode(signature)?,
        payload: decode(payload)?,
    })
}

/// The ID token's claims that gatehouse reads.
#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject: the provider's stable identifier of the person.
    pub sub: String,
    /// Audience: one string or an array.
    pub aud: Audience,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
    /// Expiry.
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// The nonce gatehouse sent.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Everything else (email, name, groups…), read by [`super::identity`].
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `aud`: RFC 7519 §4.1.3 allows one string or an array.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Audience {
    fn as_slice(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// What the ID token must match.
#[derive(Debug)]
pub struct Expected<'a> {
    /// The provider's issuer (from validated discovery, identical to the configured one).
    pub issuer: &'a str,
    /// gatehouse's client id at the provider.
    pub client_id: &'a str,
    /// The nonce derived from the state.
    pub nonce: &'a str,
    /// Now.
    pub now: UnixTime,
}

/// The claim checks of OpenID Connect Core §3.1.3.7 (items 2–5 and 9–11), on a payload whose
/// signature has been verified.
pub fn check_claims(payload: &[u8], expected: &Expected<'_>) -> Result<IdTokenClaims, Reason> {
    let claims: IdTokenClaims =
        serde_json::from_slice(payload).map_err(|_| Reason::IdTokenMalformed)?;
    // Item 2: "The Issuer Identifier for the OpenID Provider […] MUST exactly match the value of
    // the iss (issuer) Claim."
    if claims.iss != expected.issuer {
        return Err(Reason::IdTokenIssuerMismatch);
    }
    // Item 3: "The Client MUST validate that the aud (audience) Claim contains its client_id
    // value […] The ID Token MUST be rejected if the ID Token does not list the Client as a
    // valid audience, or if it contains additional audiences not trusted by the Client."
    let audiences = claims.aud.as_slice();
    if !audiences.iter().any(|a| a == expected.client_id) {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    // Items 4 and 5 (as of OpenID Connect Core errata set 2): with several audiences an `azp`
    // is expected, and when `azp` is present it must be our client id.
    if audiences.len() > 1 && claims.azp.is_none() {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    if claims
        .azp
        .as_deref()
        .is_some_and(|azp| azp != expected.client_id)
    {
        return Err(Reason::IdTokenAudienceMismatch);
    }
    // Item 9: "The current time MUST be before the time represented by the exp Claim."
    if expected.now.0 >= claims.exp.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Reason::IdTokenExpired);
    }
    // Item 10: iat "can be used to reject tokens that were issued too far away from the current
    // time": one issued in the future is refused.
    if claims.iat > expected.now.0.saturating_add(CLOCK_SKEW_SECS) {
        return Err(Reason::IdTokenExpired);
    }
    // Item 11: "If a nonce value was sent in the Authentication Request, a nonce Claim MUST be
    // present and its value checked to verify that it is the same value as the one that was
    // sent in the Authentication Request."
    let nonce_ok = claims
        .nonce
        .as_deref()
        .is_some_and(|n| ct_eq_digest(n.as_bytes(), expected.nonce.as_bytes()));
    if !nonce_ok {
        return Err(Reason::IdTokenNonceMismatch);
    }
    // Core §2: sub "MUST NOT exceed 255 ASCII characters in length".
    if claims.sub.is_empty()
        || claims.sub.len() > 255
        || !claims
            .sub
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(Reason::IdTokenMalformed);
    }
    Ok(claims)
}
