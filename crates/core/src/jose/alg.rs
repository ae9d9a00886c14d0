//! The JWS algorithms gatehouse knows (RFC 7518 §3.1), below keys, signatures and signers.

/// A JWS algorithm gatehouse signs or verifies (RFC 7518 §3.1). `none` and the `HS*` family
/// are not among them: no caller can be talked into a MAC keyed with a public key, or into no
/// signature at all (RFC 8725 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4): gatehouse's own tokens, clients' assertions,
    /// providers' ID tokens.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3): the Access-compatible assertion, and the
    /// OpenID Connect default for ID tokens (Core §3.1.3.7 item 7).
    Rs256,
}

impl Alg {
    /// The algorithm a header's `alg` names, if gatehouse knows it.
    pub fn parse(alg: &str) -> Option<Self> {
        match alg {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }
}
