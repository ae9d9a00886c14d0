//! JSON Web Keys (RFC 7517), one type for every key gatehouse reads or publishes: its own ES256
//! keys in `/oauth/jwks.json`, a client's keys for `private_key_jwt` (inline `jwks` or fetched
//! from `jwks_uri`), and an identity provider's keys for its ID tokens.
//!
//! Only what verification needs is kept (RFC 7518 §6.2.1 for EC, §6.3.1 for RSA); other
//! members are ignored when read. A key that does not parse is skipped, not fatal: a provider
//! may publish kinds of key gatehouse does not use beside the ones it does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::alg::Alg;

/// A public key (RFC 7517 §4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC` or `RSA` (RFC 7517 §4.1).
    pub kty: String,
    /// EC curve: `P-256` for ES256 (RFC 7518 §6.2.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC x coordinate, base64url (RFC 7518 §6.2.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate, base64url (RFC 7518 §6.2.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The key id a JWS names in its header (RFC 7517 §4.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The algorithm the key is for, if stated (RFC 7517 §4.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig` or `enc`, if stated (RFC 7517 §4.2).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// RSA modulus, base64url (RFC 7518 §6.3.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent, base64url (RFC 7518 §6.3.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Jwk {
    /// One of gatehouse's own ES256 keys, as its JWK Set publishes it: `kty`, `crv`, `x`, `y`,
    /// `kid`, `alg` and `use` all stated.
    pub fn es256(kid: String, x: String, y: String) -> Self {
        Self {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            x: Some(x),
            y: Some(y),
            kid: Some(kid),
            alg: Some(Alg::Es256.as_str().into()),
            use_: Some("sig".into()),
            n: None,
            e: None,
        }
    }

    /// One of gatehouse's RS256 keys (the Access-compatible assertion's), as Access publishes
    /// it: `kty`, `kid`, `alg`, `use`, `n` and `e`.
    pub fn rs256(kid: String, n: String, e: String) -> Self {
        Self {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            kid: Some(kid),
            alg: Some(Alg::Rs256.as_str().into()),
            use_: Some("sig".into()),
            n: Some(n),
            e: Some(e),
        }
    }

    /// Whether this key can verify `alg` signatures: the right type with its members, for
    /// signatures (`use` absent or `sig`), and for `alg` (`alg` absent or equal).
    pub fn fits(&self, alg: Alg) -> bool {
        let kind = match alg {
            Alg::Rs256 => self.kty == "RSA" && self.n.is_some() && self.e.is_some(),
            Alg::Es256 => {
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

/// A JWK Set (RFC 7517 §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// A JWK Set document; `None` if it is not one. Keys that do not parse are skipped.
    pub fn parse(document: &str) -> Option<Self> {
        Self::from_value(&serde_json::from_str(document).ok()?)
    }

    /// A JWK Set given as JSON (a client's inline `jwks`); `None` if it is not one. Keys that
    /// do not parse are skipped.
    pub fn from_value(value: &Value) -> Option<Self> {
        let keys = value
            .get("keys")?
            .as_array()?
            .iter()
            .filter_map(|k| Jwk::deserialize(k).ok())
            .collect();
        Some(Self { keys })
    }

    /// Only the keys that [fit](Jwk::fits) `alg`; `None` when none does.
    pub fn fitting(self, alg: Alg) -> Option<Self> {
        let keys: Vec<Jwk> = self.keys.into_iter().filter(|k| k.fits(alg)).collect();
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// The key for a JWS signed with `alg` under `kid` (OpenID Connect Core §10.1). Without a
    /// `kid`, the one key that fits, if exactly one does ("the kid value MAY be omitted" when
    /// there is one key).
    pub fn find(&self, alg: Alg, kid: Option<&str>) -> Option<&Jwk> {
        let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
        match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let first = fitting.next()?;
                fitting.next().is_none().then_some(first)
            }
        }
    }

    /// The keys that may have signed a JWS with `alg` under `kid`, to try in turn: those whose
    /// `kid` matches, those without one, and every one when the JWS names none. A client's
    /// key set is small and each try is a local verification, so a client that leaves `kid`
    /// out is not refused for it (RFC 7523 does not require `kid`).
    pub fn candidates<'s>(
        &'s self,
        alg: Alg,
        kid: Option<&'s str>,
    ) -> impl Iterator<Item = &'s Jwk> + 's {
        self.keys.iter().filter(move |k| {
            k.fits(alg) && (kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_keys_serialize_with_every_member_stated_and_nothing_else() {
        let ec = serde_json::to_string(&Jwk::es256("k1".into(), "X".into(), "Y".into())).unwrap();
        assert_eq!(
            ec,
            r#"{"kty":"EC","crv":"P-256","x":"X","y":"Y","kid":"k1","alg":"ES256","use":"sig"}"#
        );
        let rsa = serde_json::to_value(Jwk::rs256("r1".into(), "N".into(), "AQAB".into())).unwrap();
        assert_eq!(
            rsa,
            serde_json::json!({"kty":"RSA","kid":"r1","alg":"RS256","use":"sig","n":"N","e":"AQAB"})
        );
    }

    #[test]
    fn a_clients_keys_are_tried_by_kid_and_kept_only_when_they_fit() {
        let set = JwkSet::from_value(&serde_json::json!({"keys": [
            {"kty":"EC","crv":"P-256","x":"x","y":"y","kid":"a"},
            {"kty":"EC","crv":"P-256","x":"x","y":"y"},
            {"kty":"EC","crv":"P-256","x":"x","y":"y","kid":"b","use":"enc"},
            {"kty":"RSA","n":"n","e":"e","kid":"r"},
            {"kty":"EC","crv":"P-384","x":"x","y":"y","kid":"c"},
            "not a key"
        ]}))
        .unwrap();
        assert_eq!(set.keys.len(), 5, "what does not parse is skipped");
        let kids = |kid| {
            set.candidates(Alg::Es256, kid)
                .map(|k| k.kid.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(kids(Some("a")), [Some("a".to_owned()), None]);
        assert_eq!(kids(Some("z")), [None]);
        assert_eq!(kids(None), [Some("a".to_owned()), None]);
        let fitting = set.clone().fitting(Alg::Es256).unwrap();
        assert_eq!(fitting.keys.len(), 2);
        assert!(set.fitting(Alg::Rs256).is_some());
        assert!(
            JwkSet::from_value(&serde_json::json!({"keys": []}))
                .unwrap()
                .fitting(Alg::Es256)
                .is_none()
        );
    }
}
