//! The token signing keys: ES256 key pairs made with WebCrypto on first use, kept in D1 with the
//! private half sealed (AES-256-GCM under a key derived from `GATEHOUSE_SECRET`), rotated after
//! `SIGNING_KEY_ROTATION_SECS`, and published in the JWKS until every token they signed has expired.
//! The RS256 keys of the Access-compatible assertion live beside them in the same table (column
//! `algorithm`), made, sealed, rotated, cached and published the same way; their public row also
//! holds the self-signed certificate `/cdn-cgi/access/certs` serves.
//!
//! Imported keys are cached per isolate: importing costs more CPU than signing.

use std::cell::{Cell, RefCell};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::config::ServerSecret;
use gatehouse_core::jose::alg::Alg;
use gatehouse_core::jose::jwk::{Jwk, JwkSet};
use gatehouse_core::jose::signer::{AccessSigner, JwkVerifier, RsaPublicKey, Signer, SigningError};
use gatehouse_core::jose::x509;
use gatehouse_core::key_schedule;
use gatehouse_core::store::{Freshness, ReadFrom};
use gatehouse_core::time::UnixTime;
use serde::Deserialize;
use web_sys::CryptoKey;

use crate::bindings::Bindings;

use crate::{random, webcrypto};

/// How long an isolate trusts its list of keys before reading D1 again.
const CACHE_SECS: u64 = 300;
/// An unknown `kid` makes an isolate read its keys again only if it last read them at least this
/// long ago. A token naming a made-up `kid` needs no valid signature, so without this bound every
/// such token would cost a D1 query.
const UNKNOWN_KID_RELOAD_SECS: u64 = 1;
/// The label of the key-sealing key derived from the server secret.
pub const SEALING_KEY_LABEL: &str = "signing-key-sealing";

/// Which kind of key: gatehouse's own tokens (ES256) or the Access-compatible assertion (RS256).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Es256,
    Rs256,
}

impl Algorithm {
    /// Its name in the `algorithm` column and in JWS headers.
    fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Es256 => 0,
            Self::Rs256 => 1,
        }
    }
}

/// A key's public half, as `public_jwk` holds it.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
enum Public {
    Rsa { n: String, e: String, cert: String },
    Ec { x: String, y: String },
}

#[derive(Clone)]
struct Key {
    kid: String,
    public_parts: Public,
    sealed: String,
    retires_at: u64,
    expires_at: u64,
    private: Option<CryptoKey>,
    public: Option<CryptoKey>,
}

struct Cache {
    loaded_at: u64,
    /// Where the keys were read: a replica's list may lack a key made a moment ago.
    from: ReadFrom,
    /// Newest first.
    keys: Vec<Key>,
}

thread_local! {
    /// One per [`Algorithm`].
    static CACHE: RefCell<[Option<Cache>; 2]> = const { RefCell::new([None, None]) };
    /// When the isolate last read its keys again because a token named an unknown `kid`.
    static UNKNOWN_KID_RELOAD: Cell<u64> = const { Cell::new(0) };
}

#[derive(Deserialize)]
struct Row {
    kid: String,
    public_jwk: String,
    private_key_encrypted: String,
    retires_at: f64,
    expires_at: f64,
}

/// [`Signer`] on WebCrypto and D1.
pub struct WebCryptoSigner<'a> {
    bindings: &'a Bindings<'a>,
    /// Derives the key that seals private keys at rest, when one is sealed or opened.
    secret: &'a ServerSecret,
    rotation_secs: u64,
    now: UnixTime,
    /// Migration mode: no key is generated (that would write to D1); the newest published key
    /// keeps signing past its retirement.
    frozen: bool,
    algorithm: Algorithm,
}

fn store_error(context: &str) -> impl Fn(worker::Error) -> SigningError + '_ {
    move |e| SigningError(format!("signing keys: {context}: {e}"))
}

impl<'a> WebCryptoSigner<'a> {
    pub fn new(
        bindings: &'a Bindings<'a>,
        secret: &'a ServerSecret,
        rotation_secs: u64,
        now: UnixTime,
        frozen: bool,
    ) -> Self {
        Self {
            bindings,
            secret,
            rotation_secs,
            now,
            frozen,
            algorithm: Algorithm::Es256,
        }
    }

    /// The same keys' RS256 sibling: the Access-compatible assertion's.
    fn rs256(&self) -> Self {
        Self {
            algorithm: Algorithm::Rs256,
            ..*self
        }
    }

    fn cache<T>(&self, f: impl FnOnce(&mut Option<Cache>) -> T) -> T {
        CACHE.with_borrow_mut(|caches| match caches.get_mut(self.algorithm.index()) {
            Some(cache) => f(cache),
            None => f(&mut None),
        })
    }

    fn sealing_key(&self) -> [u8; 32] {
        self.secret.derive(SEALING_KEY_LABEL)
    }

    /// Opens a sealed private key under the current secret, or under `GATEHOUSE_SECRET_PREVIOUS`
    /// during a rotation; a key opened under the previous secret is sealed again under the
    /// current one (outside migration mode), so that removing the previous secret ends nothing.
    async fn unseal(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, SigningError> {
        if let Ok(jwk) = webcrypto::open(&self.sealing_key(), sealed).await {
            return Ok(jwk);
        }
        let previous = self.secret.derive_previous(SEALING_KEY_LABEL);
        let opened = match previous {
            Some(previous) => webcrypto::open(&previous, sealed).await.ok(),
            None => None,
        };
        let jwk = opened.ok_or_else(|| {
            SigningError(
                "signing key cannot be unsealed: GATEHOUSE_SECRET differs from the one that sealed it, and GATEHOUSE_SECRET_PREVIOUS is not that one either".into(),
            )
        })?;
        if !self.frozen {
            let nonce = random::bytes::<12>().map_err(store_error("nonce"))?;
            let resealed = webcrypto::seal(&self.sealing_key(), &jwk, nonce)
                .await
                .map_err(store_error("seal"))?;
            self.bindings
                .db()
                .map_err(|e| SigningError(e.0))?
                .prepare("UPDATE signing_keys SET private_key_encrypted = ?1 WHERE kid = ?2")
                .bind(&[URL_SAFE_NO_PAD.encode(resealed).into(), kid.into()])
                .map_err(store_error("reseal"))?
                .run()
                .await
                .map_err(store_error("reseal"))?;
        }
        Ok(jwk)
    }

    /// The keys, from the isolate's cache when fresh, else from D1: from a replica when it has
    /// a key to sign with now, else from the primary (a replica that lags may not have the key
    /// another isolate just made; without this, the isolate would make one more).
    async fn keys(&self) -> Result<Vec<Key>, SigningError> {
        let cached = self.cache(|cache| {
            cache
                .as_ref()
                .filter(|c| self.now.0 < c.loaded_at + CACHE_SECS)
                .map(|c| c.keys.clone())
        });
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let keys = Freshness::MayLag
            .read(|from| async move {
                let keys = self.load(from).await?;
                let usable = from == ReadFrom::Primary || self.has_current(&keys);
                Ok::<_, SigningError>(usable.then_some(keys))
            })
            .await?;
        Ok(keys.unwrap_or_default())
    }

    /// Whether one of `keys` may sign now (else [`Signer::current_kid`] makes one).
    fn has_current(&self, keys: &[Key]) -> bool {
        let schedule = keys
            .iter()
            .map(|k| (k.kid.as_str(), k.retires_at, k.expires_at));
        matches!(
            key_schedule::current(schedule, self.now, self.frozen),
            key_schedule::Current::Use(_)
        )
    }

    /// Reads the keys from D1 (`from` a replica or the primary) into the isolate's cache.
    async fn load(&self, from: ReadFrom) -> Result<Vec<Key>, SigningError> {
        let rows: Vec<Row> = self
            .bindings
            .read_session(from)
            .map_err(|e| SigningError(e.0))?
            .prepare(
                "SELECT kid, public_jwk, private_key_encrypted, retires_at, expires_at FROM signing_keys \
                 WHERE expires_at > ?1 AND algorithm = ?2 ORDER BY created_at DESC, kid",
            )
            .bind(&[(self.now.0 as f64).into(), self.algorithm.name().into()])
            .map_err(store_error("query"))?
            .all()
            .await
            .map_err(store_error("query"))?
            .results()
            .map_err(store_error("rows"))?;
        let keys = rows
            .into_iter()
            .filter_map(|row| {
                let public_parts = serde_json::from_str(&row.public_jwk).ok()?;
                Some(Key {
                    kid: row.kid,
                    public_parts,
                    sealed: row.private_key_encrypted,
                    retires_at: row.retires_at as u64,
                    expires_at: row.expires_at as u64,
                    private: None,
                    public: None,
                })
            })
            .collect::<Vec<_>>();
        let loaded = Cache {
            loaded_at: self.now.0,
            from,
            keys: keys.clone(),
        };
        self.cache(|cache| *cache = Some(loaded));
        Ok(keys)
    }

    fn remember(&self, key: Key) {
        self.cache(|cache| {
            if let Some(cache) = cache {
                cache.keys.retain(|k| k.kid != key.kid);
                cache.keys.insert(0, key);
                cache.keys.sort_by_key(|k| std::cmp::Reverse(k.retires_at));
            }
        });
    }

    async fn key(&self, kid: &str) -> Result<Option<Key>, SigningError> {
        if let Some(key) = self.keys().await?.into_iter().find(|k| k.kid == kid) {
            return Ok(Some(key));
        }
        // A key made by another isolate since this one last looked (the rotation pattern of
        // OpenID Connect Core §10.1.1: an unknown `kid` sends the verifier back to the keys),
        // unless it looked just now. It looks on the primary: a key this new is the one a
        // replica is most likely not to have yet.
        if !self.may_reload_for_unknown_kid() {
            return Ok(None);
        }
        Ok(self
            .load(ReadFrom::Primary)
            .await?
            .into_iter()
            .find(|k| k.kid == kid))
    }

    /// Whether the keys may be read again for an unknown `kid`; if so, the read counts from now,
    /// before it starts, so that concurrent requests of the isolate do not all make it. Keys
    /// read from a replica may be read again from the primary at once, one request of the
    /// isolate once per replica read; then the bound holds made-up `kid`s again.
    fn may_reload_for_unknown_kid(&self) -> bool {
        let now = self.now.0;
        let (loaded_at, from) = self.cache(|cache| {
            cache
                .as_ref()
                .map_or((0, ReadFrom::Primary), |c| (c.loaded_at, c.from))
        });
        let reloaded = UNKNOWN_KID_RELOAD.get();
        let after_replica = from == ReadFrom::Replica && reloaded < loaded_at;
        if !after_replica && now < loaded_at.max(reloaded) + UNKNOWN_KID_RELOAD_SECS {
            return false;
        }
        UNKNOWN_KID_RELOAD.set(now);
        true
    }

    async fn generate(&self) -> Result<String, SigningError> {
        let kid = match self.algorithm {
            Algorithm::Es256 => format!("k_{}", random::hex::<8>().map_err(store_error("kid"))?),
            Algorithm::Rs256 => format!("r_{}", random::hex::<8>().map_err(store_error("kid"))?),
        };
        let key_schedule::KeyTimes {
            retires_at,
            expires_at,
        } = key_schedule::new_key(self.now, self.rotation_secs);
        let (private_jwk, public_parts) = match self.algorithm {
            Algorithm::Es256 => {
                let (private_jwk, x, y) = webcrypto::generate_es256()
                    .await
                    .map_err(store_error("generate"))?;
                (private_jwk, Public::Ec { x, y })
            }
            Algorithm::Rs256 => {
                let (private_jwk, n, e, spki, private) = webcrypto::generate_rs256()
                    .await
                    .map_err(store_error("generate"))?;
                // The certificate is valid while the key is published.
                let tbs = x509::tbs_certificate(&spki, &kid, self.now, expires_at)
                    .map_err(|e| SigningError(format!("signing keys: certificate: {e}")))?;
                let signature = webcrypto::sign_rs256(&private, &tbs)
                    .await
                    .map_err(store_error("certificate"))?;
                let cert = x509::certificate_pem(&tbs, &signature);
                (private_jwk, Public::Rsa { n, e, cert })
            }
        };
        let nonce = random::bytes::<12>().map_err(store_error("nonce"))?;
        let sealed = webcrypto::seal(&self.sealing_key(), private_jwk.as_bytes(), nonce)
            .await
            .map_err(store_error("seal"))?;
        let sealed = URL_SAFE_NO_PAD.encode(sealed);
        let public_jwk = match &public_parts {
            Public::Ec { x, y } => serde_json::json!({ "x": x, "y": y }),
            Public::Rsa { n, e, cert } => serde_json::json!({ "n": n, "e": e, "cert": cert }),
        }
        .to_string();
        self.bindings
            .db()
                .map_err(|e| SigningError(e.0))?
            .prepare(
                "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key_encrypted, created_at, retires_at, expires_at) \
                 VALUES (?1, ?7, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(&[
                kid.as_str().into(),
                public_jwk.into(),
                sealed.as_str().into(),
                (self.now.0 as f64).into(),
                (retires_at.0 as f64).into(),
                (expires_at.0 as f64).into(),
                self.algorithm.name().into(),
            ])
            .map_err(store_error("insert"))?
            .run()
            .await
            .map_err(store_error("insert"))?;
        self.remember(Key {
            kid: kid.clone(),
            public_parts,
            sealed,
            retires_at: retires_at.0,
            expires_at: expires_at.0,
            private: None,
            public: None,
        });
        Ok(kid)
    }
}

impl JwkVerifier for WebCryptoSigner<'_> {
    async fn verify_jwk(&self, key: &Jwk, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        // A client's key that WebCrypto will not import, or a signature it will not check, is
        // a failed authentication, not an outage.
        webcrypto::verify_jwk(key, alg, message, signature)
            .await
            .unwrap_or(false)
    }
}

impl Signer for WebCryptoSigner<'_> {
    async fn current_kid(&self) -> Result<String, SigningError> {
        let keys = self.keys().await?;
        let schedule = keys
            .iter()
            .map(|k| (k.kid.as_str(), k.retires_at, k.expires_at));
        match key_schedule::current(schedule, self.now, self.frozen) {
            key_schedule::Current::Use(kid) => Ok(kid.to_owned()),
            key_schedule::Current::Generate => self.generate().await,
        }
    }

    async fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let mut key = self
            .key(kid)
            .await?
            .ok_or_else(|| SigningError(format!("signing key {kid} is gone")))?;
        let private = match &key.private {
            Some(private) => private.clone(),
            None => {
                let sealed = URL_SAFE_NO_PAD
                    .decode(&key.sealed)
                    .map_err(|e| SigningError(format!("sealed key: {e}")))?;
                let jwk = self.unseal(&key.kid, &sealed).await?;
                let jwk =
                    String::from_utf8(jwk).map_err(|e| SigningError(format!("sealed key: {e}")))?;
                let private = match self.algorithm {
                    Algorithm::Es256 => webcrypto::import_es256_private(&jwk).await,
                    Algorithm::Rs256 => webcrypto::import_rs256_private(&jwk).await,
                }
                .map_err(store_error("import"))?;
                key.private = Some(private.clone());
                self.remember(key);
                private
            }
        };
        match self.algorithm {
            Algorithm::Es256 => webcrypto::sign_es256(&private, message).await,
            Algorithm::Rs256 => webcrypto::sign_rs256(&private, message).await,
        }
        .map_err(store_error("sign"))
    }

    async fn verify(
        &self,
        kid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SigningError> {
        let Some(mut key) = self.key(kid).await? else {
            return Ok(false);
        };
        // gatehouse verifies only its own ES256 tokens; origins verify the RS256 ones.
        let Public::Ec { x, y } = &key.public_parts else {
            return Ok(false);
        };
        let public = match &key.public {
            Some(public) => public.clone(),
            None => {
                let public = webcrypto::import_es256_public(x, y)
                    .await
                    .map_err(store_error("import"))?;
                key.public = Some(public.clone());
                self.remember(key);
                public
            }
        };
        webcrypto::verify_es256(&public, message, signature)
            .await
            .map_err(store_error("verify"))
    }

    async fn jwks(&self) -> Result<JwkSet, SigningError> {
        // Publish a key before the first token is signed, so origins can fetch it early.
        self.current_kid().await?;
        let keys = self.keys().await?;
        Ok(JwkSet {
            keys: keys
                .into_iter()
                .filter(|k| key_schedule::is_published(k.expires_at, self.now))
                .filter_map(|k| match k.public_parts {
                    Public::Ec { x, y } => Some(Jwk::es256(k.kid, x, y)),
                    Public::Rsa { .. } => None,
                })
                .collect(),
        })
    }
}

impl AccessSigner for WebCryptoSigner<'_> {
    async fn access_kid(&self) -> Result<String, SigningError> {
        self.rs256().current_kid().await
    }

    async fn access_sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.rs256().sign(kid, message).await
    }

    async fn access_keys(&self) -> Result<Vec<RsaPublicKey>, SigningError> {
        let rs256 = self.rs256();
        // Publish a key before the first assertion is signed, so origins can fetch it early.
        rs256.current_kid().await?;
        Ok(rs256
            .keys()
            .await?
            .into_iter()
            .filter(|k| key_schedule::is_published(k.expires_at, self.now))
            .filter_map(|k| match k.public_parts {
                Public::Rsa { n, e, cert } => Some(RsaPublicKey::new(k.kid, n, e, cert)),
                Public::Ec { .. } => None,
            })
            .collect())
    }
}
