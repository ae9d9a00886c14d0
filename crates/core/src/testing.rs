//! Test doubles that keep production's rules (enabled by the `testing` feature): an in-memory
//! store with single-use codes and one live refresh token per grant, a fixed clock, a
//! deterministic random source, a pure-Rust ES256 signer and PBKDF2.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};

use crate::grant_id::GrantId;
use crate::jose::alg::Alg;
use crate::jose::jwk::{Jwk, JwkSet};
use crate::jose::signer::{AccessSigner, JwkVerifier, RsaPublicKey, Signer, SigningError};
use crate::password::Pbkdf2;
use crate::rng::Rng;
use crate::secret::SecretHash;
use crate::store::*;
use crate::time::{Clock, UnixTime};
use crate::types::ClientId;

/// A clock that shows what it is told.
#[derive(Debug)]
pub struct FixedClock(Cell<u64>);

impl FixedClock {
    /// A clock at `secs` since the epoch.
    pub fn at(secs: u64) -> Self {
        Self(Cell::new(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.0.set(self.0.get() + secs);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.get())
    }
}

/// Deterministic "randomness": a counter run through SHA-256, so values are distinct and
/// well-spread but reproducible.
#[derive(Debug, Default)]
pub struct SeqRng(Cell<u64>);

impl Rng for SeqRng {
    fn fill(&self, buf: &mut [u8]) {
        use sha2::Digest as _;
        for chunk in buf.chunks_mut(32) {
            let n = self.0.get();
            self.0.set(n + 1);
            let block = sha2::Sha256::digest(n.to_le_bytes());
            for (byte, value) in chunk.iter_mut().zip(block.iter()) {
                *byte = *value;
            }
        }
    }
}

/// PBKDF2 in pure Rust.
#[derive(Debug, Default)]
pub struct RustPbkdf2;

impl Pbkdf2 for RustPbkdf2 {
    async fn derive(
        &self,
        password: &[u8],
        salt: &[u8],
        rounds: u32,
        len: usize,
    ) -> Option<Vec<u8>> {
        let mut out = vec![0; len];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out);
        Some(out)
    }
}

/// One checked login in [`MemoryStore`]: (id, account hash, source, succeeded, when).
pub type LoginRow = (u64, String, String, bool, UnixTime);

/// An ES256 signer on the `p256` crate, with keys that can be rotated.
pub struct TestSigner {
    keys: RefCell<Vec<(String, SigningKey)>>,
}

impl TestSigner {
    /// A signer with one key, `k1`, made from a fixed seed.
    pub fn new() -> Self {
        let signer = Self {
            keys: RefCell::new(Vec::new()),
        };
        signer.rotate("k1", 1);
        signer
    }

    /// Makes a new current key `kid`; earlier keys keep verifying.
    pub fn rotate(&self, kid: &str, seed: u8) {
        let mut bytes = [seed; 32];
        bytes[0] = 1;
        let key = SigningKey::from_bytes(&bytes.into())
            .unwrap_or_else(|_| unreachable!("a valid scalar"));
        self.keys.borrow_mut().insert(0, (kid.to_owned(), key));
    }

    fn verifying_key(&self, kid: &str) -> Option<VerifyingKey> {
        self.keys
            .borrow()
            .iter()
            .find(|(k, _)| k == kid)
            .map(|(_, key)| *key.verifying_key())
    }
}

impl Default for TestSigner {
    fn default() -> Self {
        Self::new()
    }
}

/// The RSA key of [`TestSigner`]'s Access-compatible assertions: a fixed 2048-bit key (PKCS #8,
/// DER, base64), since making one in a debug build takes seconds.
const TEST_RSA_KEY: &str = "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCz44SvSgUfw8enQwwWemX/a0C4zRYTMdhWv/WtJH1lE2Gpo/wMywha7pbx3KCgQiA/UtXOVF59+jSySOGy7bXDSK9PdVUnGlw5kKQESOXwhbD9P/DzEUdEyOpaTJWcA2F/mFL01tQQjcMCyywDiSpcs5GHZI4xNcUE0W4Zy9XGkl24/dsSlRQINCW6WgbdURQ8fa5XAvMUdvcHvE77iOy1Yp2YFTNjEei1efbObmpXnRNZBqpD/ua06M+hNkMuNRaG2BlSD1ryOEUudjiJDV5Y9LlVtczCGHnLnN69v1FLgJGOI18liT/4XBO9uktjAxVVUiMRFImCBAMPaQLAYNORAgMBAAECggEAAeqcZ3dFAxsFdBogjwpYyDxu4RXv2t5+4CKFZ7kDmPsSFEn9JzzwGgyzd2CS8xu61wUQs0HU2K5WUPvtY6GcSR6FUTX+MgxAchPBAfng16VYLSqF0tROGETnskFhaqfikKBuNp6/Sm0Om2ectwdUEZuPVljs5uG1921fwrVlBQuJIbGgoF1LJ+mA0H/8aQWFECqlwexk7HwoZi5pFAorKmfLlniwTUeIEbIbz5H0gDUQYgdhpZdAkoQ5EqrNayNXCojNi5NivMF7ums6sgxF7Tfc4EwdKF/7TUq4XoPmsVvLfaycMXz/sHbgJtr/iSfDLJxSBzfAQlE7ZCqjtNQgAQKBgQD1h6o+S0MUbhWJy6AEuBy38vQ88PpTL3E/QiUj8CKBNiXtbrjWH/edvcK9WLR5CHLn+hm256nePN8qr4U/QsxpFuJyN3ghWVLrLSf3CbiD6nwSfh+fVf3jPi45BQuk2fdDf1qkkfm9jFcuQsXJE/eQLP5dCHJLXWk4ZVbj9wklkQKBgQC7j0d3+B1y80TXefuZf6XYsvJodnpFX+VZDMqywzmKAyy0USbXlzOcbcmXcR50ODmSlmCRCI0lJyekB/Tjh2ZpbozVPLcVLEjU3wCOUgYtjk0O6f8YMmoNGjhu20naeUb+wtlZq2Vs6aYSrX+x/cH+mrCGCb3JhV5ma7pQ2M3OAQKBgHjmr9by2noh5usuYIJSYpnVwZyMkMcLcnlSydUTdvonPq/WuJ9/qD99ZHo2Rs/ecC54gdcF5ihv0vhC65sF+n+47BKP69CIGoOBfc9wcvJKMYQtpMah4l3WjY44RM6NIeuTt3+X/eDvTTKTYK8t7NaKwUnwUc94lMpXZFzmlRNxAoGAW/SUQpJHxerVLpukqg42PncFeAfWTJsGc9Fcs6YZWLvTuBgtZffAmwoMkw4nsy05tM+7SoAZy0RWIAqymrbwk/JaY9VfoabTkmI/AIfgdYdV6mD462EUM5ZOYrNqkw1wrEjVjSwGDw7CmFetypMyAGTQ9PZjsSCNNsPMVgTlagECgYBlfz/H1ocYm6RKUUt+uqZPMnHEB+cb+EqFL3ysGY1vnjMYpUk5y3VAxUueYXbbdZE3Lpq+j0p1PrIujNiZI6NssYngp45sPehdyxB5SAnDaRU2US5bmHKJYghPWlh1rKdfcX8e2Fp+/lYIjkVYIPHR9b4Z841TQ4LLdae+3eqb3A==";

/// The RSA key's id.
pub const TEST_RSA_KID: &str = "r1";

/// The RS256 signing key of [`TestSigner`]'s Access-compatible assertions.
fn test_rsa_key() -> Result<rsa::RsaPrivateKey, SigningError> {
    use rsa::pkcs8::DecodePrivateKey as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(TEST_RSA_KEY)
        .map_err(|e| SigningError(e.to_string()))?;
    rsa::RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| SigningError(e.to_string()))
}

/// RSASSA-PKCS1-v1_5 SHA-256 (RS256) with the `rsa` crate.
pub fn rs256_sign(key: &rsa::RsaPrivateKey, message: &[u8]) -> Vec<u8> {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key.clone())
        .sign(message)
        .to_vec()
}

impl AccessSigner for TestSigner {
    async fn access_kid(&self) -> Result<String, SigningError> {
        Ok(TEST_RSA_KID.into())
    }

    async fn access_sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        if kid != TEST_RSA_KID {
            return Err(SigningError(format!("no RSA key {kid}")));
        }
        Ok(rs256_sign(&test_rsa_key()?, message))
    }

    async fn access_keys(&self) -> Result<Vec<RsaPublicKey>, SigningError> {
        use rsa::pkcs8::EncodePublicKey as _;
        use rsa::traits::PublicKeyParts as _;
        let key = test_rsa_key()?;
        let public = key.to_public_key();
        let spki = public
            .to_public_key_der()
            .map_err(|e| SigningError(e.to_string()))?;
        let tbs = crate::jose::x509::tbs_certificate(
            spki.as_bytes(),
            TEST_RSA_KID,
            UnixTime(1_700_000_000),
            UnixTime(1_700_000_000 + 30 * 24 * 3600),
        )
        .map_err(SigningError)?;
        let cert_pem = crate::jose::x509::certificate_pem(&tbs, &rs256_sign(&key, &tbs));
        Ok(vec![RsaPublicKey::new(
            TEST_RSA_KID.into(),
            URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            cert_pem,
        )])
    }
}

impl JwkVerifier for TestSigner {
    async fn verify_jwk(&self, key: &Jwk, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        verify_jwk(key, alg, message, signature)
    }
}

impl Signer for TestSigner {
    async fn current_kid(&self) -> Result<String, SigningError> {
        Ok(self
            .keys
            .borrow()
            .first()
            .map(|(kid, _)| kid.clone())
            .unwrap_or_default())
    }

    async fn sign(&self, kid: &str, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        let keys = self.keys.borrow();
        let (_, key) = keys
            .iter()
            .find(|(k, _)| k == kid)
            .ok_or_else(|| SigningError(format!("no key {kid}")))?;
        let signature: Signature = key.sign(message);
        Ok(signature.to_bytes().to_vec())
    }

    async fn verify(
        &self,
        kid: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, SigningError> {
        let (Some(key), Ok(signature)) =
            (self.verifying_key(kid), Signature::from_slice(signature))
        else {
            return Ok(false);
        };
        Ok(key.verify(message, &signature).is_ok())
    }

    async fn jwks(&self) -> Result<JwkSet, SigningError> {
        let keys = self.keys.borrow();
        let keys = keys
            .iter()
            .map(|(kid, key)| {
                let point = key.verifying_key().to_encoded_point(false);
                Jwk::es256(
                    kid.clone(),
                    URL_SAFE_NO_PAD.encode(point.x().map(|x| x.to_vec()).unwrap_or_default()),
                    URL_SAFE_NO_PAD.encode(point.y().map(|y| y.to_vec()).unwrap_or_default()),
                )
            })
            .collect();
        Ok(JwkSet { keys })
    }
}

/// Verifies `token` with jwt-compact, a JWT library independent of gatehouse, against the key
/// of `jwks` that the token's `kid` names, and returns its claims.
pub fn verify_with_jwt_compact(jwks: &JwkSet, token: &str) -> Result<serde_json::Value, String> {
    use jwt_compact::{AlgorithmExt as _, UntrustedToken, alg::Es256};
    let untrusted = UntrustedToken::new(token).map_err(|e| format!("not a JWT: {e}"))?;
    if untrusted.algorithm() != "ES256" {
        return Err(format!("algorithm {}", untrusted.algorithm()));
    }
    let kid = untrusted.header().key_id.clone().ok_or("no kid")?;
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid.as_deref() == Some(kid.as_str()))
        .ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    let coordinate = |c: &Option<String>| {
        URL_SAFE_NO_PAD
            .decode(c.as_deref().ok_or("JWK coordinate missing")?)
            .map_err(|e| format!("JWK coordinate: {e}"))
    };
    let (x, y) = (coordinate(&jwk.x)?, coordinate(&jwk.y)?);
    if x.len() != 32 || y.len() != 32 {
        return Err("JWK coordinates are not 32 bytes".into());
    }
    let point = p256::EncodedPoint::from_affine_coordinates(
        x.as_slice().into(),
        y.as_slice().into(),
        false,
    );
    let key = VerifyingKey::from_encoded_point(&point)
        .map_err(|e| format!("JWK is not a P-256 point: {e}"))?;
    let verified = Es256
        .validator::<serde_json::Value>(&key)
        .validate(&untrusted)
        .map_err(|e| format!("{e}"))?;
    // jwt-compact keeps the registered time claims apart from the others; put them back.
    let claims = verified.claims();
    let mut all = claims.custom.clone();
    for (name, time) in [
        ("iat", claims.issued_at),
        ("exp", claims.expiration),
        ("nbf", claims.not_before),
    ] {
        if let (Some(time), Some(object)) = (time, all.as_object_mut()) {
            object.insert(name.into(), time.timestamp().into());
        }
    }
    Ok(all)
}

/// An in-memory store with production's rules.
#[derive(Default)]
pub struct MemoryStore {
    clients: RefCell<BTreeMap<String, (ClientRecord, String, bool)>>,
    sessions: RefCell<BTreeMap<String, SessionRecord>>,
    /// Consents by (subject, client id, app), with when each was given.
    consents: RefCell<BTreeMap<ConsentKey, (ConsentRecord, UnixTime)>>,
    grants: RefCell<BTreeMap<String, GrantRecord>>,
    codes: RefCell<BTreeMap<String, (CodeRecord, bool)>>,
    refresh: RefCell<BTreeMap<String, RefreshRecord>>,
    denied: RefCell<BTreeMap<String, (UnixTime, RevocationReason)>>,
    /// Grants whose row D1 refuses to revoke (a bad row): their revocation fails at step 2.
    pub broken_grants: RefCell<std::collections::BTreeSet<String>>,
    grants_used: RefCell<BTreeMap<String, UnixTime>>,
    /// Device codes by hash, with the time of their last poll.
    devices: RefCell<BTreeMap<String, (DeviceCodeRecord, Option<UnixTime>)>>,
    wrong_user_codes: RefCell<Vec<(String, UnixTime)>>,
    /// Checked local-account logins, oldest first.
    pub login_attempts: RefCell<Vec<LoginRow>>,
    login_attempt_ids: Cell<u64>,
    /// When set, every call fails as an outage would.
    pub down: Cell<bool>,
    /// How many times the list of untagged client ids was consulted.
    pub untagged_lookups: Cell<u32>,
    /// How many times a client was looked up by its id.
    pub client_lookups: Cell<u32>,
    /// How many times a code, a refresh token or a device code was looked up by its hash.
    pub secret_lookups: Cell<u32>,
    /// When set, revoking and denylisting fail (storage being moved) while reads still work.
    pub writes_down: Cell<bool>,
    /// Pending upstream logins by state hash, with whether each was used.
    oidc_states: RefCell<BTreeMap<String, (crate::oidc::state::StateRecord, bool)>>,
    /// The audit log, oldest first.
    pub audit: RefCell<Vec<(UnixTime, crate::model::audit::AuditEvent)>>,
    /// What was put on the `revocations` Queue, oldest first (the Queue is up regardless).
    pub queued: RefCell<Vec<crate::model::queue::QueueMessage>>,
    /// When set, every D1 write fails while reads, KV and the Queue work: the database is
    /// being moved. Migration mode must not notice, because it writes nothing to D1.
    pub d1_read_only: Cell<bool>,
    /// The writes held in KV, by key.
    pub held: RefCell<BTreeMap<String, crate::migration::Held>>,
    /// Idempotency keys of audit events (D1 `audit_events.idempotency_key`).
    audit_keys: RefCell<std::collections::BTreeSet<String>>,
    /// A crash after this many more writes: once it reaches zero, every write (D1, KV, Queue)
    /// fails, as if the Worker had died between two steps. `None`: no crash.
    pub crash_after_writes: Cell<Option<u32>>,
    /// Every write that succeeded, in order (`deny`, `enqueue`, `revoke_grant`, …).
    pub writes: RefCell<Vec<&'static str>>,
    disabled: RefCell<BTreeMap<String, UnixTime>>,
    /// The web as the metadata fetcher sees it: URL → response. Unlisted URLs fail to fetch.
    pub web: RefCell<BTreeMap<String, crate::net::FetchedDocument>>,
    /// Every URL the metadata fetcher requested, in order.
    pub fetched: RefCell<Vec<String>>,
    /// Cached documents (KV `cimd:<sha256(url)>`): key → (body, expiry).
    document_cache: RefCell<BTreeMap<String, (Vec<u8>, UnixTime)>>,
    /// Client assertion `jti` hashes, with their expiry.
    assertion_ids: RefCell<BTreeMap<String, UnixTime>>,
    /// Runs once, inside the next [`RefreshStore::rotate_refresh`], before its transaction:
    /// what another request's writes landing while a refresh is in flight look like (after
    /// its concurrent KV reads, before its batch).
    #[allow(clippy::type_complexity)]
    pub before_rotation: RefCell<Option<Box<dyn FnOnce(&MemoryStore)>>>,
    /// A read replica of the clients that lags the primary: `None` while it keeps up, else the
    /// clients and the disabled ones as it last saw them ([`MemoryStore::lag_replica`]).
    replica_clients: RefCell<Option<ReplicaClients>>,
    /// How many client reads went to the replica.
    pub replica_client_lookups: Cell<u32>,
    /// Runs once, inside the next [`CodeStore::exchange_code`], before its transaction: what
    /// another request's writes landing while a code exchange is in flight look like (after
    /// its concurrent KV reads, before its batch).
    #[allow(clippy::type_complexity)]
    pub before_exchange: RefCell<Option<Box<dyn FnOnce(&MemoryStore)>>>,
    /// When set, the isolate holds every client from a recent read of the primary
    /// ([`ClientStore::cached_client`] answers); unset (the default), it holds none, as when
    /// an agent comes back after minutes.
    pub clients_cached: Cell<bool>,
}

/// The clients (with their source network and use) and the disabled client ids, as a replica
/// holds them.
type ReplicaClients = (
    BTreeMap<String, (ClientRecord, String, bool)>,
    BTreeMap<String, UnixTime>,
);

impl MemoryStore {
    /// From now on the read replica stops applying writes: it answers client reads as the
    /// primary would have now, until [`MemoryStore::catch_up_replica`].
    pub fn lag_replica(&self) {
        let seen = (
            self.clients.borrow().clone(),
            self.disabled.borrow().clone(),
        );
        *self.replica_clients.borrow_mut() = Some(seen);
    }

    /// The read replica applies every write made since [`MemoryStore::lag_replica`].
    pub fn catch_up_replica(&self) {
        *self.replica_clients.borrow_mut() = None;
    }

    /// The client as the primary has it, unless unknown, disabled or lapsed at `now`.
    /// A transaction's deferred client (`check`, if any) with its record as the transaction
    /// reads it ([`deferred_client_passes`]).
    fn deferred_client<'c>(
        &self,
        check: Option<&'c ClientCheck>,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Option<(&'c ClientCheck, Option<ClientRecord>)> {
        check.map(|check| (check, self.primary_client(client_id, now)))
    }

    fn primary_client(&self, client_id: &ClientId, now: UnixTime) -> Option<ClientRecord> {
        let disabled = self.disabled.borrow();
        self.clients
            .borrow()
            .get(client_id.as_str())
            .map(|(c, _, _)| c.clone())
            .filter(|c| !disabled.contains_key(c.client_id.as_str()))
            .filter(|c| c.expires_at.is_none_or(|at| now < at))
    }

    /// A D1 write: fails while the store is down or D1 is read-only.
    fn d1_write(&self) -> Result<(), StoreError> {
        self.up()?;
        if self.d1_read_only.get() {
            Err(StoreError("D1 is read-only (being moved)".into()))
        } else {
            self.write("d1")
        }
    }

    /// Any write: fails once the injected crash has happened, else is counted.
    fn write(&self, what: &'static str) -> Result<(), StoreError> {
        match self.crash_after_writes.get() {
            Some(0) => return Err(StoreError("crashed".into())),
            Some(n) => self.crash_after_writes.set(Some(n - 1)),
            None => {}
        }
        self.writes.borrow_mut().push(what);
        Ok(())
    }

    /// KV forgets denylist entries whose expiry is before `now` (time passing in tests).
    pub fn expire_kv(&self, now: UnixTime) {
        self.denied
            .borrow_mut()
            .retain(|_, (until, _)| *until > now);
    }

    /// Until when the grant is denied, if it is.
    pub fn denied_until(&self, grant_id: &GrantId) -> Option<UnixTime> {
        self.denied
            .borrow()
            .get(grant_id.as_str())
            .map(|(until, _)| *until)
    }

    /// Whether consent of `subject` for `client_id` at `app` is on record.
    pub fn has_consent(&self, subject: &str, client_id: &str, app: &str) -> bool {
        self.consents.borrow().contains_key(&(
            subject.to_owned(),
            client_id.to_owned(),
            app.to_owned(),
        ))
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.writes_down.get() {
            Err(StoreError("store is read-only".into()))
        } else {
            Ok(())
        }
    }

    fn up(&self) -> Result<(), StoreError> {
        if self.down.get() {
            Err(StoreError("store is down".into()))
        } else {
            Ok(())
        }
    }

    /// How many refresh tokens of the grant are live (production allows exactly one).
    pub fn live_refresh_tokens(&self, grant_id: &GrantId) -> usize {
        self.refresh
            .borrow()
            .values()
            .filter(|r| &r.grant_id == grant_id && r.rotated_at.is_none())
            .count()
    }

    /// Refresh-token rows kept, live or rotated, of every grant.
    pub fn refresh_token_rows(&self) -> usize {
        self.refresh.borrow().len()
    }

    /// Audit events kept.
    pub fn audit_events(&self) -> usize {
        self.audit.borrow().len()
    }

    /// Every stored key and value, to check that no raw secret was stored.
    pub fn dump(&self) -> String {
        format!(
            "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
            self.clients.borrow(),
            self.sessions.borrow(),
            self.codes.borrow(),
            self.refresh.borrow(),
            self.devices.borrow(),
            self.oidc_states.borrow(),
            self.login_attempts.borrow(),
            self.audit.borrow()
        )
    }
}

/// (subject, client id, app).
type ConsentKey = (String, String, String);

fn key(hash: &SecretHash) -> String {
    hash.as_hex().to_owned()
}

impl ClientStore for MemoryStore {
    async fn insert_client(
        &self,
        client: &ClientRecord,
        registered_from: &str,
        event: &crate::model::audit::AuditEvent,
        limit: RegistrationLimit,
    ) -> Result<bool, StoreError> {
        self.d1_write()?;
        let recent = self
            .clients
            .borrow()
            .values()
            .filter(|(c, s, _)| s == registered_from && c.created_at >= limit.since)
            .count() as u64;
        if recent >= limit.max {
            return Ok(false);
        }
        self.clients.borrow_mut().insert(
            client.client_id.as_str().to_owned(),
            (client.clone(), registered_from.to_owned(), false),
        );
        self.audit
            .borrow_mut()
            .push((client.created_at, event.clone()));
        Ok(true)
    }

    async fn client(
        &self,
        client_id: &ClientId,
        now: UnixTime,
        from: ReadFrom,
    ) -> Result<Option<ClientRecord>, StoreError> {
        self.up()?;
        self.client_lookups.set(self.client_lookups.get() + 1);
        let find = |clients: &BTreeMap<String, (ClientRecord, String, bool)>,
                    disabled: &BTreeMap<String, UnixTime>| {
            clients
                .get(client_id.as_str())
                .map(|(c, _, _)| c.clone())
                .filter(|c| !disabled.contains_key(c.client_id.as_str()))
                .filter(|c| c.expires_at.is_none_or(|at| now < at))
        };
        if from == ReadFrom::Replica {
            self.replica_client_lookups
                .set(self.replica_client_lookups.get() + 1);
            if let Some((clients, disabled)) = &*self.replica_clients.borrow() {
                return Ok(find(clients, disabled));
            }
        }
        Ok(find(&self.clients.borrow(), &self.disabled.borrow()))
    }

    fn cached_client(&self, client_id: &ClientId, now: UnixTime) -> Option<ClientRecord> {
        if !self.clients_cached.get() {
            return None;
        }
        self.primary_client(client_id, now)
    }

    async fn untagged_client_may_exist(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.up()?;
        self.untagged_lookups.set(self.untagged_lookups.get() + 1);
        let untagged = !crate::tag::is_tagged(client_id.as_str());
        let live = self
            .clients
            .borrow()
            .get(client_id.as_str())
            .is_some_and(|(c, _, _)| c.expires_at.is_none_or(|at| now < at));
        Ok(untagged && live && !self.disabled.borrow().contains_key(client_id.as_str()))
    }

    async fn mark_client_used(
        &self,
        client_id: &ClientId,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        if let Some((client, _, used)) = self.clients.borrow_mut().get_mut(client_id.as_str()) {
            client.expires_at = None;
            *used = true;
        }
        Ok(())
    }

    async fn disable_client(&self, client_id: &ClientId, now: UnixTime) -> Result<(), StoreError> {
        self.d1_write()?;
        self.disabled
            .borrow_mut()
            .entry(client_id.as_str().to_owned())
            .or_insert(now);
        Ok(())
    }

    async fn enable_client(&self, client_id: &ClientId) -> Result<(), StoreError> {
        self.d1_write()?;
        self.disabled.borrow_mut().remove(client_id.as_str());
        Ok(())
    }

    async fn clients_in_use(&self, limit: u32) -> Result<Vec<ClientUse>, StoreError> {
        self.up()?;
        let grants = self.grants.borrow();
        let used = self.grants_used.borrow();
        let disabled = self.disabled.borrow();
        let mut clients: Vec<ClientUse> = self
            .clients
            .borrow()
            .values()
            .map(|(c, _, _)| {
                let of_client = || grants.values().filter(|g| g.client_id == c.client_id);
                let live = || of_client().filter(|g| g.revoked_at.is_none());
                let people: std::collections::BTreeSet<&str> =
                    live().map(|g| g.person.subject.as_str()).collect();
                ClientUse {
                    client_id: c.client_id.as_str().to_owned(),
                    client_name: c.metadata.client_name.clone(),
                    source: c.source.as_str().to_owned(),
                    created_at: c.created_at.0,
                    last_used_at: of_client()
                        .filter_map(|g| used.get(g.grant_id.as_str()).map(|t| t.0))
                        .max(),
                    disabled_at: disabled.get(c.client_id.as_str()).map(|t| t.0),
                    people: people.len() as u64,
                    live_grants: live().count() as u64,
                }
            })
            .collect();
        clients.sort_by_key(|c| std::cmp::Reverse(c.last_used_at.unwrap_or(c.created_at)));
        clients.truncate(limit as usize);
        Ok(clients)
    }
}

impl MemoryStore {
    /// Serves `body` at `url` with status 200 and `cache_control`.
    pub fn serve_document(&self, url: &str, body: &str, cache_control: Option<&str>) {
        self.web.borrow_mut().insert(
            url.to_owned(),
            crate::net::FetchedDocument {
                status: 200,
                content_type: Some("application/json; charset=utf-8".into()),
                body: body.as_bytes().to_vec(),
                cache_control: cache_control.map(str::to_owned),
                ..Default::default()
            },
        );
    }

    /// Answers `url` with `response` as it is.
    pub fn serve_response(&self, url: &str, response: crate::net::FetchedDocument) {
        self.web.borrow_mut().insert(url.to_owned(), response);
    }
}

impl crate::net::Fetch for MemoryStore {
    /// The document served at `url`, cut at `max_bytes` + 1 as the Worker's fetch cuts it.
    async fn get(
        &self,
        url: &crate::net::SafeUrl,
        max_bytes: usize,
    ) -> Result<crate::net::FetchedDocument, crate::net::FetchError> {
        self.fetched.borrow_mut().push(url.as_str().to_owned());
        let mut response = self
            .web
            .borrow()
            .get(url.as_str())
            .cloned()
            .ok_or_else(|| crate::net::FetchError("no such host".into()))?;
        response.body.truncate(max_bytes.saturating_add(1));
        Ok(response)
    }

    async fn post_form(
        &self,
        url: &crate::net::SafeUrl,
        _body: &str,
        _authorization: Option<&str>,
        _max_bytes: usize,
    ) -> Result<crate::net::FetchedDocument, crate::net::FetchError> {
        Err(crate::net::FetchError(format!("{url}: nothing to post to")))
    }
}

impl crate::cimd::MetadataDocuments for MemoryStore {
    async fn cached_document(
        &self,
        url: &crate::cimd::CimdUrl,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.up()?;
        Ok(self
            .document_cache
            .borrow()
            .get(&url.cache_key())
            .filter(|(_, expires)| now < *expires)
            .map(|(body, _)| body.clone()))
    }

    async fn cache_document(
        &self,
        url: &crate::cimd::CimdUrl,
        body: &[u8],
        ttl_secs: u64,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.up()?;
        // KV refuses expirations under 60 s; so does this stand-in.
        if ttl_secs < 60 {
            return Err(StoreError("KV expiration under 60 s".into()));
        }
        self.document_cache
            .borrow_mut()
            .insert(url.cache_key(), (body.to_vec(), now.plus(ttl_secs)));
        Ok(())
    }

    async fn use_assertion_id(
        &self,
        jti_hash: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.d1_write()?;
        let mut ids = self.assertion_ids.borrow_mut();
        if ids.get(jti_hash.as_hex()).is_some_and(|until| now < *until) {
            return Ok(false);
        }
        ids.insert(jti_hash.as_hex().to_owned(), expires_at);
        Ok(true)
    }

    async fn document_client_disabled(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        self.up()?;
        Ok(self.disabled.borrow().contains_key(client_id.as_str()))
    }

    async fn remember_document_client(
        &self,
        client: &ClientRecord,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        let mut clients = self.clients.borrow_mut();
        match clients.get_mut(client.client_id.as_str()) {
            // A registered client never shares an id with a document (ours have no `://`).
            Some((existing, _, _)) if existing.source == ClientSource::MetadataDocument => {
                existing.metadata = client.metadata.clone();
            }
            Some(_) => return Err(StoreError("client id taken by a registration".into())),
            None => {
                clients.insert(
                    client.client_id.as_str().to_owned(),
                    (client.clone(), String::new(), true),
                );
            }
        }
        Ok(())
    }
}

impl crate::migration::HeldWrites for MemoryStore {
    async fn hold(&self, held: &crate::migration::Held) -> Result<(), StoreError> {
        self.up()?;
        self.write("hold")?;
        self.held
            .borrow_mut()
            .insert(held.write.key(), held.clone());
        Ok(())
    }

    async fn held(&self, limit: u32) -> Result<Vec<crate::migration::Held>, StoreError> {
        self.up()?;
        Ok(self
            .held
            .borrow()
            .values()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn release(&self, write: &crate::migration::HeldWrite) -> Result<(), StoreError> {
        self.up()?;
        self.write("release")?;
        self.held.borrow_mut().remove(&write.key());
        Ok(())
    }

    async fn is_held(&self, key: &str) -> Result<bool, StoreError> {
        self.up()?;
        Ok(self.held.borrow().contains_key(key))
    }
}

impl SessionStore for MemoryStore {
    async fn insert_session(
        &self,
        session: &SessionRecord,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        self.sessions
            .borrow_mut()
            .insert(key(&session.session_hash), session.clone());
        Ok(())
    }

    async fn session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.up()?;
        Ok(self
            .sessions
            .borrow()
            .get(&key(session_hash))
            .filter(|s| now < s.expires_at)
            .cloned())
    }

    async fn touch_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        if let Some(session) = self.sessions.borrow_mut().get_mut(&key(session_hash)) {
            session.last_seen_at = now;
        }
        Ok(())
    }

    async fn people_in_use(&self, limit: u32, now: UnixTime) -> Result<Vec<PersonUse>, StoreError> {
        self.up()?;
        let sessions = self.sessions.borrow();
        let grants = self.grants.borrow();
        let mut people: BTreeMap<&str, PersonUse> = BTreeMap::new();
        let person = |p: &'_ Person| PersonUse {
            subject: p.subject.clone(),
            email: p.email.clone(),
            sessions: 0,
            last_seen_at: None,
            live_grants: 0,
        };
        for s in sessions.values() {
            let entry = people
                .entry(s.person.subject.as_str())
                .or_insert_with(|| person(&s.person));
            if s.expires_at > now {
                entry.sessions += 1;
            }
            entry.last_seen_at = entry.last_seen_at.max(Some(s.last_seen_at.0));
        }
        for g in grants.values() {
            let entry = people
                .entry(g.person.subject.as_str())
                .or_insert_with(|| person(&g.person));
            if g.revoked_at.is_none() {
                entry.live_grants += 1;
            }
        }
        let mut people: Vec<PersonUse> = people.into_values().collect();
        people.sort_by_key(|p| std::cmp::Reverse(p.last_seen_at));
        people.truncate(limit as usize);
        Ok(people)
    }

    async fn revoke_sessions_of(&self, subject: &str, _now: UnixTime) -> Result<(), StoreError> {
        self.d1_write()?;
        self.sessions
            .borrow_mut()
            .retain(|_, s| s.person.subject != subject);
        Ok(())
    }

    async fn revoke_session(
        &self,
        session_hash: &SecretHash,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        self.sessions.borrow_mut().remove(&key(session_hash));
        Ok(())
    }
}

impl crate::store::AuditLog for MemoryStore {
    async fn record(
        &self,
        event: &crate::model::audit::AuditEvent,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        self.audit.borrow_mut().push((at, event.clone()));
        Ok(())
    }

    async fn record_once(
        &self,
        key: &str,
        event: &crate::model::audit::AuditEvent,
        at: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        if self.audit_keys.borrow_mut().insert(key.to_owned()) {
            self.audit.borrow_mut().push((at, event.clone()));
        }
        Ok(())
    }

    async fn events(
        &self,
        query: &crate::model::audit::AuditQuery<'_>,
    ) -> Result<Vec<crate::model::audit::StoredEvent>, StoreError> {
        self.up()?;
        Ok(self
            .audit
            .borrow()
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (at, event))| (i as u64 + 1, *at, event))
            .filter(|(id, at, e)| {
                query.before.is_none_or(|b| (*at, *id) < b) && query.matches(*at, e)
            })
            .take(query.limit as usize)
            .map(|(id, at, event)| crate::model::audit::StoredEvent {
                id,
                at,
                event: event.clone(),
            })
            .collect())
    }
}

impl RevocationQueue for MemoryStore {
    async fn enqueue(&self, message: &crate::model::queue::QueueMessage) -> Result<(), StoreError> {
        self.write("enqueue")?;
        self.queued.borrow_mut().push(message.clone());
        Ok(())
    }
}

impl Denylist for MemoryStore {
    async fn deny_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.up()?;
        self.writable()?;
        // KV: "Invalid expiration" for a time in the past or less than 60 s ahead.
        if until.0 < now.0 + crate::revocation::KV_MIN_TTL_SECS {
            return Err(StoreError(format!(
                "KV put: Invalid expiration of {} (now {})",
                until.0, now.0
            )));
        }
        self.write("deny")?;
        self.denied
            .borrow_mut()
            .insert(grant_id.as_str().to_owned(), (until, reason));
        Ok(())
    }

    async fn is_grant_denied(&self, grant_id: &GrantId) -> Result<bool, StoreError> {
        self.up()?;
        Ok(self.denied.borrow().contains_key(grant_id.as_str()))
    }

    async fn denial(&self, grant_id: &GrantId) -> Result<Option<RevocationReason>, StoreError> {
        self.up()?;
        Ok(self
            .denied
            .borrow()
            .get(grant_id.as_str())
            .map(|(_, reason)| *reason))
    }
}

impl ConsentStore for MemoryStore {
    async fn consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.up()?;
        Ok(self
            .consents
            .borrow()
            .get(&(
                subject.to_owned(),
                client_id.as_str().to_owned(),
                app.to_owned(),
            ))
            .map(|(consent, _)| consent.clone()))
    }

    async fn put_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        consent: &ConsentRecord,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        self.consents.borrow_mut().insert(
            (
                subject.to_owned(),
                client_id.as_str().to_owned(),
                app.to_owned(),
            ),
            (consent.clone(), now),
        );
        Ok(())
    }

    async fn withdraw_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.d1_write()?;
        let key = (
            subject.to_owned(),
            client_id.as_str().to_owned(),
            app.to_owned(),
        );
        let mut consents = self.consents.borrow_mut();
        if consents.get(&key).is_some_and(|(_, given)| *given <= now) {
            consents.remove(&key);
        }
        Ok(())
    }
}

impl GrantStore for MemoryStore {
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError> {
        self.d1_write()?;
        self.grants
            .borrow_mut()
            .insert(grant.grant_id.as_str().to_owned(), grant.clone());
        Ok(())
    }

    async fn grant(&self, grant_id: &GrantId) -> Result<Option<GrantRecord>, StoreError> {
        self.up()?;
        Ok(self.grants.borrow().get(grant_id.as_str()).cloned())
    }

    async fn revoke_by_refresh_token(
        &self,
        request: &TokenRevocation<'_>,
    ) -> Result<TokenRevoked, StoreError> {
        self.up()?;
        let revocation = request.revocation;
        let grant_id = &revocation.grant_id;
        let now = revocation.at;
        // The deferred client's checks, and its record as the transaction reads it.
        let client = self.deferred_client(request.check_client, request.client_id, now);
        let client_passes = deferred_client_passes(&client, None);
        let nothing = |client: Option<(_, Option<ClientRecord>)>| TokenRevoked {
            grant: None,
            client: client.and_then(|(_, record)| record),
        };
        // The condition every statement of the transaction carries (RFC 7009 §2.1).
        let token_is_the_clients = {
            let grants = self.grants.borrow();
            let refresh = self.refresh.borrow();
            match (
                refresh.get(&key(request.token_hash)),
                grants.get(grant_id.as_str()),
            ) {
                (Some(token), Some(grant)) => {
                    &token.grant_id == grant_id
                        && &grant.client_id == request.client_id
                        && grant.app == request.app
                        && ((token.rotated_at.is_none() && now < token.expires_at)
                            || grant.revoked_at.is_some())
                }
                _ => false,
            }
        };
        if !(token_is_the_clients && client_passes) {
            return Ok(nothing(client));
        }
        // One transaction: one write, all of it or nothing.
        self.writable()?;
        if self.broken_grants.borrow().contains(grant_id.as_str()) {
            return Err(StoreError("D1: grant row broken".into()));
        }
        self.d1_write()?;
        let grant = {
            let mut grants = self.grants.borrow_mut();
            let Some(grant) = grants.get_mut(grant_id.as_str()) else {
                return Ok(nothing(client));
            };
            if grant.revoked_at.is_none() {
                grant.revoked_at = Some(now);
                grant.revoked_reason = Some(revocation.reason);
            }
            grant.clone()
        };
        for token in self
            .refresh
            .borrow_mut()
            .values_mut()
            .filter(|r| &r.grant_id == grant_id)
        {
            token.rotated_at.get_or_insert(now);
        }
        if grant.revocation_settled_at.is_none() {
            let revoked = crate::revocation::Revocation::of(
                &grant,
                grant.revoked_reason.unwrap_or(revocation.reason),
                now,
                revocation.source.clone(),
            );
            let at = revoked.at;
            let consent = (
                grant.person.subject.clone(),
                grant.client_id.as_str().to_owned(),
                grant.app.clone(),
            );
            let mut consents = self.consents.borrow_mut();
            if consents
                .get(&consent)
                .is_some_and(|(_, given)| *given <= at)
            {
                consents.remove(&consent);
            }
            if self.audit_keys.borrow_mut().insert(revoked.audit_key()) {
                self.audit.borrow_mut().push((at, revoked.audit_event()));
            }
        }
        Ok(TokenRevoked {
            grant: Some(grant),
            client: client.and_then(|(_, record)| record),
        })
    }

    async fn unsettled_revocations(&self, limit: u32) -> Result<Vec<GrantRecord>, StoreError> {
        self.up()?;
        let mut unsettled: Vec<GrantRecord> = self
            .grants
            .borrow()
            .values()
            .filter(|g| g.revoked_at.is_some() && g.revocation_settled_at.is_none())
            .cloned()
            .collect();
        unsettled.sort_by_key(|g| (g.revoked_at, g.grant_id.as_str().to_owned()));
        unsettled.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(unsettled)
    }

    async fn settle_revocation(&self, grant_id: &GrantId, now: UnixTime) -> Result<(), StoreError> {
        self.d1_write()?;
        if let Some(grant) = self.grants.borrow_mut().get_mut(grant_id.as_str()) {
            grant.revocation_settled_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn revoke_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.writable()?;
        if self.broken_grants.borrow().contains(grant_id.as_str()) {
            return Err(StoreError("D1: grant row broken".into()));
        }
        self.d1_write()?;
        if let Some(grant) = self.grants.borrow_mut().get_mut(grant_id.as_str())
            && grant.revoked_at.is_none()
        {
            grant.revoked_at = Some(now);
            grant.revoked_reason = Some(reason);
        }
        for token in self
            .refresh
            .borrow_mut()
            .values_mut()
            .filter(|r| &r.grant_id == grant_id)
        {
            token.rotated_at.get_or_insert(now);
        }
        Ok(())
    }

    async fn live_grants(&self, subject: &str, app: &str) -> Result<Vec<GrantSummary>, StoreError> {
        self.up()?;
        let clients = self.clients.borrow();
        let used = self.grants_used.borrow();
        let mut live: Vec<GrantSummary> = self
            .grants
            .borrow()
            .values()
            .filter(|g| g.person.subject == subject && g.app == app && g.revoked_at.is_none())
            .map(|g| GrantSummary {
                grant_id: g.grant_id.clone(),
                client_id: g.client_id.clone(),
                client_name: clients
                    .get(g.client_id.as_str())
                    .and_then(|(c, _, _)| c.metadata.client_name.clone()),
                redirect_uri: g.redirect_uri.clone(),
                scopes: g.scopes.clone(),
                created_at: g.created_at,
                last_used_at: used.get(g.grant_id.as_str()).copied(),
            })
            .collect();
        live.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.grant_id.cmp(&b.grant_id))
        });
        Ok(live)
    }

    async fn grants_matching(
        &self,
        app: Option<&str>,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        self.up()?;
        let mut grants: Vec<GrantRecord> = self
            .grants
            .borrow()
            .values()
            .filter(|g| app.is_none_or(|a| g.app == a))
            .filter(|g| subject.is_none_or(|s| g.person.subject == s))
            .filter(|g| client_id.is_none_or(|c| &g.client_id == c))
            .cloned()
            .collect();
        grants.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.grant_id.cmp(&b.grant_id))
        });
        Ok(grants)
    }

    async fn record_issuance(&self, issuance: &Issuance<'_>) -> Result<(), StoreError> {
        self.d1_write()?;
        match issuance.refresh {
            RefreshWrite::None => {}
            RefreshWrite::Insert(token) => self.insert_refresh(token)?,
        }
        self.grants_used
            .borrow_mut()
            .insert(issuance.grant_id.as_str().to_owned(), issuance.now);
        self.audit
            .borrow_mut()
            .push((issuance.now, issuance.event.clone()));
        Ok(())
    }
}

impl CodeStore for MemoryStore {
    async fn insert_code(&self, code: &CodeRecord, _now: UnixTime) -> Result<(), StoreError> {
        self.d1_write()?;
        self.codes
            .borrow_mut()
            .insert(key(&code.code_hash), (code.clone(), false));
        Ok(())
    }

    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        binding: &CodeBinding<'_>,
        _now: UnixTime,
    ) -> Result<Consumed, StoreError> {
        self.d1_write()?;
        self.secret_lookups.set(self.secret_lookups.get() + 1);
        let (code, fresh) = match self.codes.borrow_mut().get_mut(&key(code_hash)) {
            None => return Ok(Consumed::Unknown),
            // A request the code was not issued for changes nothing, used or not.
            Some((code, _)) if binding.mismatch(code).is_some() => (code.clone(), None),
            Some((code, used)) if *used => return Ok(Consumed::Replayed(code.grant_id.clone())),
            Some((code, used)) => {
                *used = true;
                (code.clone(), Some(()))
            }
        };
        let grant = self.grant(&code.grant_id).await?;
        Ok(match fresh {
            Some(()) => Consumed::Fresh(code, grant),
            None => Consumed::Refused(code, grant),
        })
    }

    async fn exchange_code(&self, exchange: &Exchange<'_>) -> Result<Exchanged, StoreError> {
        let hook = self.before_exchange.borrow_mut().take();
        if let Some(hook) = hook {
            hook(self);
        }
        self.d1_write()?;
        self.secret_lookups.set(self.secret_lookups.get() + 1);
        let now = exchange.now;
        let binding = exchange.binding;
        let code_key = key(exchange.code_hash);
        let stored = self.codes.borrow().get(&code_key).cloned();
        let grant = self
            .grants
            .borrow()
            .get(exchange.grant_id.as_str())
            .cloned();
        // The deferred client's checks, and its record as the transaction reads it.
        let client = self.deferred_client(exchange.check_client, binding.client_id, now);
        let client_passes = deferred_client_passes(
            &client,
            Some(crate::model::client::GrantType::AuthorizationCode),
        );
        let uses_refresh =
            deferred_client_passes(&client, Some(crate::model::client::GrantType::RefreshToken));
        // What the code allows this request, as the transaction starts.
        let this_request = stored.as_ref().filter(|(code, used)| {
            client_passes
                && !used
                && &code.grant_id == exchange.grant_id
                && binding.mismatch(code).is_none()
        });
        // 1. The issuance, if the code is this request's, unexpired, and the grant live, the
        // client's and this app's.
        let issuable = this_request.filter(|(code, _)| now < code.expires_at);
        let live_grant = grant.as_ref().filter(|g| {
            g.revoked_at.is_none() && &g.client_id == binding.client_id && g.app == binding.resource
        });
        let issued = match (issuable, live_grant) {
            (Some((code, _)), Some(grant)) => {
                if let Some(token) = exchange.refresh.filter(|_| uses_refresh) {
                    self.insert_refresh(token)?;
                }
                self.grants_used
                    .borrow_mut()
                    .insert(grant.grant_id.as_str().to_owned(), now);
                self.audit
                    .borrow_mut()
                    .push((now, exchange.issued_event(code, grant)));
                true
            }
            _ => false,
        };
        // 2. The compare-and-swap.
        let fresh = this_request.is_some();
        if fresh && let Some((_, used)) = self.codes.borrow_mut().get_mut(&code_key) {
            *used = true;
        }
        // 3. As the transaction left them, with the code's own grant.
        let grant = stored
            .as_ref()
            .and_then(|(code, _)| self.grants.borrow().get(code.grant_id.as_str()).cloned());
        let consumed = match stored {
            None => Consumed::Unknown,
            Some((code, _)) if fresh => Consumed::Fresh(code, grant),
            Some((code, _))
                if binding.mismatch(&code).is_some() || &code.grant_id != exchange.grant_id =>
            {
                Consumed::Refused(code, grant)
            }
            Some((code, _)) => Consumed::Replayed(code.grant_id),
        };
        let client = client.and_then(|(_, client)| client);
        Ok(Exchanged {
            consumed,
            issued,
            client,
        })
    }
}

/// Whether a transaction's checks of a deferred client pass ([`crate::store::ClientCheck`]),
/// with `grant_type` among its registered ones if asked: `client` is the check and the record
/// the transaction reads (unless unknown, disabled or lapsed); `None` when the client was
/// authenticated before it, which passes.
fn deferred_client_passes(
    client: &Option<(&crate::store::ClientCheck, Option<ClientRecord>)>,
    grant_type: Option<crate::model::client::GrantType>,
) -> bool {
    match client {
        None => true,
        Some((check, Some(c))) => {
            c.metadata.token_endpoint_auth_method == check.method
                && grant_type.is_none_or(|grant_type| c.metadata.allows(grant_type))
                && (check.method == crate::model::client::AuthMethod::None
                    || (check.secret_hash.is_some() && c.secret_hash == check.secret_hash))
        }
        Some((_, None)) => false,
    }
}

impl DeviceStore for MemoryStore {
    async fn insert_device_code(
        &self,
        code: &DeviceCodeRecord,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.up()?;
        let mut devices = self.devices.borrow_mut();
        if devices
            .values()
            .any(|(d, _)| d.user_code_hash == code.user_code_hash && now < d.expires_at)
        {
            return Ok(false);
        }
        devices.insert(key(&code.device_code_hash), (code.clone(), None));
        Ok(true)
    }

    async fn pending_device_code(
        &self,
        user_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError> {
        self.up()?;
        Ok(self
            .devices
            .borrow()
            .values()
            .map(|(d, _)| d)
            .find(|d| {
                &d.user_code_hash == user_code_hash
                    && now < d.expires_at
                    && d.status == DeviceStatus::Pending
            })
            .cloned())
    }

    async fn decide_device_code(
        &self,
        device_code_hash: &SecretHash,
        approved: Option<&GrantId>,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.up()?;
        let mut devices = self.devices.borrow_mut();
        match devices.get_mut(&key(device_code_hash)) {
            Some((d, _)) if d.status == DeviceStatus::Pending && now < d.expires_at => {
                d.status =
                    approved.map_or(DeviceStatus::Denied, |g| DeviceStatus::Approved(g.clone()));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &SecretHash,
        client_id: &ClientId,
        slow_down_secs: u64,
        now: UnixTime,
    ) -> Result<Option<DevicePoll>, StoreError> {
        self.up()?;
        self.secret_lookups.set(self.secret_lookups.get() + 1);
        let mut devices = self.devices.borrow_mut();
        let Some((record, last_polled_at)) = devices
            .get_mut(&key(device_code_hash))
            .filter(|(d, _)| &d.client_id == client_id)
        else {
            return Ok(None);
        };
        let too_fast = last_polled_at.is_some_and(|at| now.since(at) < record.interval_secs);
        if too_fast {
            record.interval_secs += slow_down_secs;
        }
        *last_polled_at = Some(now);
        Ok(Some(DevicePoll {
            record: record.clone(),
            too_fast,
        }))
    }

    async fn redeem_device_code(
        &self,
        device_code_hash: &SecretHash,
        _now: UnixTime,
    ) -> Result<Option<GrantId>, StoreError> {
        self.up()?;
        let mut devices = self.devices.borrow_mut();
        let Some((record, _)) = devices.get_mut(&key(device_code_hash)) else {
            return Ok(None);
        };
        match std::mem::replace(&mut record.status, DeviceStatus::Redeemed) {
            DeviceStatus::Approved(grant_id) => Ok(Some(grant_id)),
            other => {
                record.status = other;
                Ok(None)
            }
        }
    }

    async fn record_wrong_user_code(&self, subject: &str, now: UnixTime) -> Result<(), StoreError> {
        self.up()?;
        self.wrong_user_codes
            .borrow_mut()
            .push((subject.to_owned(), now));
        Ok(())
    }

    async fn wrong_user_codes_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<u64, StoreError> {
        self.up()?;
        Ok(self
            .wrong_user_codes
            .borrow()
            .iter()
            .filter(|(s, at)| s == subject && *at > since)
            .count() as u64)
    }
}

impl LoginAttempts for MemoryStore {
    async fn start_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> Result<Result<u64, crate::login_throttle::LoginHistory>, StoreError> {
        use crate::login_throttle::{self, Verdict};
        self.d1_write()?;
        let mut attempts = self.login_attempts.borrow_mut();
        let (since, known_since) = (
            login_throttle::window_start(attempt.at),
            login_throttle::known_since(attempt.at),
        );
        attempts.retain(|(_, _, _, ok, at)| *at > if *ok { known_since } else { since });
        let account = attempt.account.as_hex();
        let failures = |matches: &dyn Fn(&str, &str) -> bool| {
            let times: Vec<UnixTime> = attempts
                .iter()
                .filter(|(_, a, s, ok, _)| !ok && matches(a, s))
                .map(|(.., at)| *at)
                .collect();
            (times.len() as u64, times.into_iter().min())
        };
        let (account_failures, account_oldest) = failures(&|a, _| a == account);
        let (source_failures, source_oldest) = failures(&|_, s| s == attempt.source);
        let source_known = attempts
            .iter()
            .any(|(_, a, s, ok, _)| *ok && a == account && s == attempt.source);
        let history = login_throttle::LoginHistory {
            account_failures,
            account_oldest,
            source_failures,
            source_oldest,
            source_known,
        };
        if login_throttle::judge(&history, attempt.at) != Verdict::Allow {
            return Ok(Err(history));
        }
        let id = self.login_attempt_ids.get() + 1;
        self.login_attempt_ids.set(id);
        attempts.push((
            id,
            account.to_owned(),
            attempt.source.to_owned(),
            false,
            attempt.at,
        ));
        Ok(Ok(id))
    }

    async fn login_attempt_succeeded(&self, id: u64) -> Result<(), StoreError> {
        self.d1_write()?;
        for row in self.login_attempts.borrow_mut().iter_mut() {
            if row.0 == id {
                row.3 = true;
            }
        }
        Ok(())
    }
}

impl OidcStateStore for MemoryStore {
    async fn insert_oidc_state(
        &self,
        state: &crate::oidc::state::StateRecord,
        _now: UnixTime,
    ) -> Result<(), StoreError> {
        self.up()?;
        self.oidc_states
            .borrow_mut()
            .insert(key(&state.state_hash), (state.clone(), false));
        Ok(())
    }

    async fn consume_oidc_state(
        &self,
        state_hash: &SecretHash,
        _now: UnixTime,
    ) -> Result<crate::oidc::state::StateUse, StoreError> {
        use crate::oidc::state::StateUse;
        self.up()?;
        Ok(
            match self.oidc_states.borrow_mut().get_mut(&key(state_hash)) {
                None => StateUse::Unknown,
                Some((_, used)) if *used => StateUse::Replayed,
                Some((state, used)) => {
                    *used = true;
                    StateUse::Fresh(state.clone())
                }
            },
        )
    }
}

/// Whether `signature` is a valid ES256 signature of `input` under the P-256 public key with
/// these base64url coordinates: the native stand-in for WebCrypto's `verify` with an imported
/// JWK. Other algorithms (RS256) are verified only in the Worker, through WebCrypto.
pub fn verify_es256_jwk(x: &str, y: &str, input: &[u8], signature: &[u8]) -> bool {
    let (Ok(x), Ok(y)) = (URL_SAFE_NO_PAD.decode(x), URL_SAFE_NO_PAD.decode(y)) else {
        return false;
    };
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let (Ok(key), Ok(signature)) = (
        VerifyingKey::from_sec1_bytes(&sec1),
        Signature::from_slice(signature),
    ) else {
        return false;
    };
    key.verify(input, &signature).is_ok()
}

/// Whether `signature` is a valid `alg` signature of `message` under `key`, with the `p256` and
/// `rsa` crates: the native stand-in for the Worker's WebCrypto `verify_jwk`. Like WebCrypto's
/// ECDSA, it accepts a high-`s` signature.
pub fn verify_jwk(key: &Jwk, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
    if !key.fits(alg) {
        return false;
    }
    match (alg, &key.x, &key.y, &key.n, &key.e) {
        (Alg::Es256, Some(x), Some(y), _, _) => verify_es256_jwk(x, y, message, signature),
        (Alg::Rs256, _, _, Some(n), Some(e)) => {
            use rsa::signature::Verifier as _;
            let int = |b64: &str| {
                URL_SAFE_NO_PAD
                    .decode(b64)
                    .ok()
                    .map(|b| rsa::BigUint::from_bytes_be(&b))
            };
            let (Some(n), Some(e)) = (int(n), int(e)) else {
                return false;
            };
            let (Ok(public), Ok(signature)) = (
                rsa::RsaPublicKey::new(n, e),
                rsa::pkcs1v15::Signature::try_from(signature),
            ) else {
                return false;
            };
            rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(public)
                .verify(message, &signature)
                .is_ok()
        }
        _ => false,
    }
}

impl MemoryStore {
    /// A grant's first refresh token; D1 refuses a second live one per grant.
    fn insert_refresh(&self, token: &RefreshRecord) -> Result<(), StoreError> {
        let mut tokens = self.refresh.borrow_mut();
        if tokens
            .values()
            .any(|r| r.grant_id == token.grant_id && r.rotated_at.is_none())
        {
            return Err(StoreError("a grant has one live refresh token".into()));
        }
        tokens.insert(key(&token.token_hash), token.clone());
        Ok(())
    }
}

impl RefreshStore for MemoryStore {
    async fn refresh(&self, token_hash: &SecretHash) -> Result<Option<RefreshRecord>, StoreError> {
        self.up()?;
        self.secret_lookups.set(self.secret_lookups.get() + 1);
        Ok(self.refresh.borrow().get(&key(token_hash)).cloned())
    }

    async fn refresh_with_grant(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>, StoreError> {
        let Some(record) = self.refresh(token_hash).await? else {
            return Ok(None);
        };
        Ok(self
            .grant(&record.grant_id)
            .await?
            .map(|grant| (record, grant)))
    }

    async fn rotate_refresh(&self, rotation: &Rotation<'_>) -> Result<Rotated, StoreError> {
        let hook = self.before_rotation.borrow_mut().take();
        if let Some(hook) = hook {
            hook(self);
        }
        self.d1_write()?;
        self.secret_lookups.set(self.secret_lookups.get() + 1);
        let now = rotation.now;
        let grant = self
            .grants
            .borrow()
            .get(rotation.grant_id.as_str())
            .cloned();
        // The deferred client's checks, and its record as the transaction reads it.
        let client = self.deferred_client(rotation.check_client, rotation.client_id, now);
        let client_passes =
            deferred_client_passes(&client, Some(crate::model::client::GrantType::RefreshToken));
        let grant = grant.filter(|g| {
            client_passes
                && g.revoked_at.is_none()
                && &g.client_id == rotation.client_id
                && g.app == rotation.app
                && rotation.narrowed.is_none_or(|s| s.is_subset_of(&g.scopes))
        });
        let presented = key(rotation.presented);
        let successor = &rotation.successor.token_hash;
        let issued = {
            let mut tokens = self.refresh.borrow_mut();
            // 1. The compare-and-swap.
            if let Some(token) = tokens.get_mut(&presented).filter(|t| {
                grant.is_some()
                    && &t.grant_id == rotation.grant_id
                    && t.rotated_at.is_none()
                    && now < t.expires_at
            }) {
                token.rotated_at = Some(now);
                token.successor_hash = Some(successor.clone());
            }
            // 2. The successor, if the presented token names it.
            let names_successor = tokens
                .get(&presented)
                .is_some_and(|t| t.successor_hash.as_ref() == Some(successor));
            if grant.is_some() && names_successor {
                tokens
                    .entry(key(successor))
                    .or_insert_with(|| rotation.successor.clone());
            }
            // 3. Whether the issuance is recorded.
            let answered = tokens.get(&presented).filter(|t| {
                &t.grant_id == rotation.grant_id
                    && t.rotated_at
                        .is_some_and(|at| now.since(at) <= rotation.retry_window_secs)
            });
            let answer = answered
                .and_then(|t| t.successor_hash.as_ref())
                .filter(|h| rotation.answers.contains(h));
            answer.is_some_and(|h| tokens.get(&key(h)).is_some_and(|s| s.rotated_at.is_none()))
        };
        let issued = match grant.filter(|_| issued) {
            Some(grant) => {
                self.grants_used
                    .borrow_mut()
                    .insert(grant.grant_id.as_str().to_owned(), now);
                self.audit
                    .borrow_mut()
                    .push((now, rotation.issued_event(&grant)));
                true
            }
            None => false,
        };
        // 4. As the transaction left them.
        let found = match self.refresh.borrow().get(&presented).cloned() {
            Some(record) => self
                .grants
                .borrow()
                .get(record.grant_id.as_str())
                .cloned()
                .map(|grant| (record, grant)),
            None => None,
        };
        let client = client.and_then(|(_, record)| record);
        Ok(Rotated {
            issued,
            found,
            client,
        })
    }
}

impl crate::store::Retention for MemoryStore {
    async fn forget(&self, lapsed: crate::store::Lapsed, limit: u32) -> Result<u32, StoreError> {
        use crate::store::Lapsed;
        self.d1_write()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        /// Removes at most `limit` entries of `map` that `lapsed` says, and counts them.
        fn drop_from<K: Ord + Clone, V>(
            map: &mut BTreeMap<K, V>,
            limit: usize,
            lapsed: impl Fn(&V) -> bool,
        ) -> u32 {
            let keys: Vec<K> = map
                .iter()
                .filter(|(_, v)| lapsed(v))
                .map(|(k, _)| k.clone())
                .take(limit)
                .collect();
            for key in &keys {
                map.remove(key);
            }
            u32::try_from(keys.len()).unwrap_or(u32::MAX)
        }
        fn drop_from_vec<T>(vec: &mut Vec<T>, limit: usize, lapsed: impl Fn(&T) -> bool) -> u32 {
            let mut left = limit;
            vec.retain(|item| {
                if left > 0 && lapsed(item) {
                    left -= 1;
                    false
                } else {
                    true
                }
            });
            u32::try_from(limit - left).unwrap_or(u32::MAX)
        }
        let deleted = match lapsed {
            Lapsed::Codes(before) => drop_from(&mut self.codes.borrow_mut(), limit, |(c, _)| {
                c.expires_at < before
            }),
            Lapsed::ExpiredRefreshTokens(before) => {
                drop_from(&mut self.refresh.borrow_mut(), limit, |r| {
                    r.expires_at < before
                })
            }
            Lapsed::RotatedRefreshTokens(before) => {
                drop_from(&mut self.refresh.borrow_mut(), limit, |r| {
                    r.rotated_at.is_some_and(|at| at < before)
                })
            }
            Lapsed::Sessions(before) => drop_from(&mut self.sessions.borrow_mut(), limit, |s| {
                s.expires_at < before
            }),
            Lapsed::OidcStates(before) => {
                drop_from(&mut self.oidc_states.borrow_mut(), limit, |(s, _)| {
                    s.expires_at < before
                })
            }
            Lapsed::DeviceCodes(before) => {
                drop_from(&mut self.devices.borrow_mut(), limit, |(d, _)| {
                    d.expires_at < before
                })
            }
            Lapsed::WrongUserCodes(before) => {
                drop_from_vec(&mut self.wrong_user_codes.borrow_mut(), limit, |(_, at)| {
                    *at < before
                })
            }
            Lapsed::AssertionIds(before) => {
                drop_from(&mut self.assertion_ids.borrow_mut(), limit, |exp| {
                    *exp < before
                })
            }
            Lapsed::AuditEvents(before) => {
                drop_from_vec(&mut self.audit.borrow_mut(), limit, |(at, _)| *at < before)
            }
        };
        Ok(deleted)
    }
}
