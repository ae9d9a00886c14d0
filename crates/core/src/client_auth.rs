//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3,
//! RFC 7591 §2 `token_endpoint_auth_method`).
//!
//! A client authenticates with exactly the method it registered: `none` (public clients, which
//! only identify themselves with `client_id`), `client_secret_basic` or `client_secret_post`.
//! Secrets are compared as SHA-256 hashes in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::cimd::{self, ClientLookup, LookupError, MetadataDocuments};
use crate::error::Reason;
use crate::form::Form;
use crate::secret::ClientSecret;
use crate::store::{ClientCheck, ClientRecord, ClientStore, Freshness, StoreError};
use crate::time::UnixTime;
use crate::types::ClientId;

pub use crate::model::client::AuthMethod;

/// The credentials a request presented.
#[derive(Debug)]
struct Presented {
    client_id: ClientId,
    secret: Option<String>,
    assertion: Option<String>,
    method: AuthMethod,
}

/// What a client's credentials are checked against, besides its record.
pub struct Verification<'a, K> {
    /// Verifies `private_key_jwt` signatures.
    pub signer: &'a K,
    /// Client ID Metadata Document rules (also for fetching a `jwks_uri`) and the key of
    /// registered client ids.
    pub lookup: ClientLookup<'a>,
    /// What a client assertion's `aud` may name: the token endpoint URL and the issuer.
    pub audiences: &'a [String],
}

/// A client that proved who it is. Only [`authenticate`] builds one.
#[derive(Debug)]
pub struct AuthenticatedClient {
    record: ClientRecord,
}

impl AuthenticatedClient {
    /// The client's registration.
    pub fn record(&self) -> &ClientRecord {
        &self.record
    }

    /// The client's id.
    pub fn id(&self) -> &ClientId {
        &self.record.client_id
    }
}

/// Why authentication failed, and whether the client tried HTTP Basic (RFC 6749 §5.2: then the
/// 401 must carry `WWW-Authenticate: Basic`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// The request is malformed or the client not authenticated.
    Refused {
        /// What was wrong.
        reason: Reason,
        /// The client used the `Authorization` header.
        used_basic: bool,
    },
    /// Storage failed.
    Store(StoreError),
}

/// Authenticates the client of a form request with its registered method.
pub async fn authenticate(
    store: &(impl ClientStore + MetadataDocuments),
    verification: &Verification<'_, impl crate::jose::signer::Signer>,
    form: &Form,
    authorization: Option<&str>,
    now: UnixTime,
) -> Result<AuthenticatedClient, AuthError> {
    let used_basic = authorization.is_some();
    let refused = |reason| AuthError::Refused { reason, used_basic };
    let presented = presented(form, authorization).map_err(refused)?;
    authenticate_presented(store, verification, presented, used_basic, now).await
}

/// Authenticates the client that presented these credentials: reads it, then checks them.
async fn authenticate_presented(
    store: &(impl ClientStore + MetadataDocuments),
    verification: &Verification<'_, impl crate::jose::signer::Signer>,
    presented: Presented,
    used_basic: bool,
    now: UnixTime,
) -> Result<AuthenticatedClient, AuthError> {
    let refused = |reason| AuthError::Refused { reason, used_basic };
    let cimd = verification.lookup.cimd;
    // The primary's record: a client disabled a moment ago must not authenticate for tokens
    // because a replica has not yet seen the disable (docs/storage.md, "Read replicas").
    let found = cimd::find_client(
        store,
        verification.lookup,
        &presented.client_id,
        now,
        Freshness::Latest,
    );
    let record = match found.await {
        Ok(record) => record.ok_or(refused(Reason::ClientUnknown))?,
        Err(LookupError::Refused(reason)) => return Err(refused(reason)),
        Err(LookupError::Store(e)) => return Err(AuthError::Store(e)),
    };
    let registered = check_method(&presented, &record).map_err(refused)?;
    if registered == AuthMethod::PrivateKeyJwt {
        let Some(assertion) = presented.assertion.as_deref() else {
            return Err(refused(Reason::ClientAuthFailed));
        };
        let checked = crate::client_assertion::verify(
            store,
            verification.signer,
            cimd,
            &record,
            assertion,
            verification.audiences,
            now,
        )
        .await
        .map_err(AuthError::Store)?;
        checked.map_err(refused)?;
    }
    check_secret(&presented, &record).map_err(refused)?;
    Ok(AuthenticatedClient { record })
}

/// RFC 7591 §2: a client authenticates with the method it registered, and no other.
fn check_method(presented: &Presented, record: &ClientRecord) -> Result<AuthMethod, Reason> {
    let registered = record.metadata.token_endpoint_auth_method;
    if presented.method == registered {
        Ok(registered)
    } else {
        Err(Reason::ClientAuthMethodMismatch)
    }
}

/// A secret-using client's presented secret, hashed, equals the stored hash (constant time).
fn check_secret(presented: &Presented, record: &ClientRecord) -> Result<(), Reason> {
    if !record.metadata.token_endpoint_auth_method.uses_secret() {
        return Ok(());
    }
    let (Some(secret), Some(stored)) = (&presented.secret, &record.secret_hash) else {
        return Err(Reason::ClientAuthFailed);
    };
    if ClientSecret::from_presented(secret.clone())
        .hash()
        .ct_eq(stored)
    {
        Ok(())
    } else {
        Err(Reason::ClientAuthFailed)
    }
}

/// A client's credentials, read from its request, whose check one storage transaction makes
/// together with the request's own work: a client authenticating with `none`,
/// `client_secret_basic` or `client_secret_post`, with an id gatehouse issued, that this isolate
/// has not read from the primary lately. The transaction's statements are
/// conditioned on the client as [`authenticate`] checks it (docs/storage.md, "The refresh"),
/// and read it back; [`Deferred::settle`] then checks that record exactly as [`authenticate`]
/// does, so the answer to a refused client is the same as on the two-step path.
#[derive(Debug)]
pub struct Deferred {
    presented: Presented,
    used_basic: bool,
}

/// A request's client: authenticated already, or [`Deferred`] to the request's transaction.
// One per token request, moved a few times: boxing the record would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Claimed {
    /// Read and checked.
    Authenticated(AuthenticatedClient),
    /// To be checked by the request's transaction.
    Deferred(Deferred),
}

impl Deferred {
    /// The id the client presented (not yet authenticated).
    pub fn client_id(&self) -> &ClientId {
        &self.presented.client_id
    }

    /// What the transaction requires of the client: the method it presented and, for a
    /// secret, the presented secret's hash.
    pub fn check(&self) -> ClientCheck {
        let secret_hash = match self.presented.method {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => self
                .presented
                .secret
                .clone()
                .map(|secret| ClientSecret::from_presented(secret).hash()),
            AuthMethod::None | AuthMethod::PrivateKeyJwt => None,
        };
        ClientCheck {
            method: self.presented.method,
            secret_hash,
        }
    }

    /// Authenticates the client on its own, as if it had not been deferred (one read).
    pub async fn authenticate(
        self,
        store: &(impl ClientStore + MetadataDocuments),
        verification: &Verification<'_, impl crate::jose::signer::Signer>,
        now: UnixTime,
    ) -> Result<AuthenticatedClient, AuthError> {
        authenticate_presented(store, verification, self.presented, self.used_basic, now).await
    }

    /// Checks the client against `found`, its record as the transaction read it (`None`:
    /// unknown, disabled or lapsed), exactly as [`authenticate`] checks a record it read.
    pub fn settle(self, found: Option<ClientRecord>) -> Result<AuthenticatedClient, AuthError> {
        let used_basic = self.used_basic;
        let refused = |reason| AuthError::Refused { reason, used_basic };
        let record = found.ok_or(refused(Reason::ClientUnknown))?;
        check_method(&self.presented, &record).map_err(refused)?;
        check_secret(&self.presented, &record).map_err(refused)?;
        Ok(AuthenticatedClient { record })
    }
}

/// Reads a request's credentials and authenticates its client, unless `deferrable` and the
/// client is one a transaction can check ([`Deferred`]): not `private_key_jwt`, an id gatehouse
/// issued, which this isolate does not hold from a recent read of the primary.
pub async fn claim(
    store: &(impl ClientStore + MetadataDocuments),
    verification: &Verification<'_, impl crate::jose::signer::Signer>,
    form: &Form,
    authorization: Option<&str>,
    now: UnixTime,
    deferrable: bool,
) -> Result<Claimed, AuthError> {
    let used_basic = authorization.is_some();
    let refused = |reason| AuthError::Refused { reason, used_basic };
    let presented = presented(form, authorization).map_err(refused)?;
    let id = &presented.client_id;
    // A forged or untagged id, or a metadata document's URL, takes the usual route: it is
    // refused without a lookup, or looked up where it may be.
    // A `private_key_jwt` client's assertion is verified with its keys before anything: it
    // is never deferred.
    let defer = deferrable
        && presented.method != AuthMethod::PrivateKeyJwt
        && !cimd::is_url_client_id(id.as_str())
        && verification.lookup.ids.verdict(id.as_str()) == crate::tag::Verdict::Issued
        && store.cached_client(id, now).is_none();
    if defer {
        return Ok(Claimed::Deferred(Deferred {
            presented,
            used_basic,
        }));
    }
    let client = authenticate_presented(store, verification, presented, used_basic, now).await?;
    Ok(Claimed::Authenticated(client))
}

/// Reads the credentials. RFC 6749 §2.3: "The client MUST NOT use more than one authentication
/// method in each request."
fn presented(form: &Form, authorization: Option<&str>) -> Result<Presented, Reason> {
    let body_id = form.get("client_id")?;
    let body_secret = form.get("client_secret")?;
    if let Some(kind) = form.get("client_assertion_type")? {
        // RFC 7523 §2.2; one method per request (RFC 6749 §2.3).
        if authorization.is_some() || body_secret.is_some() {
            return Err(Reason::ClientAuthMultipleMethods);
        }
        if kind != crate::client_assertion::ASSERTION_TYPE {
            return Err(Reason::ClientAssertionInvalid);
        }
        let assertion = form
            .get("client_assertion")?
            .ok_or(Reason::ClientAssertionInvalid)?;
        // RFC 7523 §3: `sub` is the client id; a `client_id` sent too must agree.
        let parsed = crate::client_assertion::Assertion::parse(assertion)?;
        if body_id.is_some_and(|id| id != parsed.subject()) {
            return Err(Reason::ClientAssertionInvalid);
        }
        return Ok(Presented {
            client_id: ClientId::parse(parsed.subject())?,
            secret: None,
            assertion: Some(assertion.to_owned()),
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    if let Some(header) = authorization {
        if body_secret.is_some() {
            return Err(Reason::ClientAuthMultipleMethods);
        }
        let (client_id, secret) = parse_basic(header)?;
        // A client_id in the body as well must name the same client (RFC 6749 §3.2.1).
        if body_id.is_some_and(|id| id != client_id.as_str()) {
            return Err(Reason::ClientAuthMultipleMethods);
        }
        return Ok(Presented {
            client_id,
            secret: Some(secret),
            assertion: None,
            method: AuthMethod::ClientSecretBasic,
        });
    }
    let client_id = ClientId::parse(body_id.ok_or(Reason::ClientIdMissing)?)?;
    Ok(match body_secret {
        Some(secret) => Presented {
            client_id,
            secret: Some(secret.to_owned()),
            assertion: None,
            method: AuthMethod::ClientSecretPost,
        },
        None => Presented {
            client_id,
            secret: None,
            assertion: None,
            method: AuthMethod::None,
        },
    })
}

/// Parses `Basic base64(urlencode(client_id) ":" urlencode(secret))` (RFC 6749 §2.3.1, RFC 7617).
fn parse_basic(header: &str) -> Result<(ClientId, String), Reason> {
    let (scheme, credentials) = header
        .trim()
        .split_once(' ')
        .ok_or(Reason::ClientAuthMalformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Reason::ClientAuthMalformed);
    }
    let decoded = STANDARD
        .decode(credentials.trim())
        .map_err(|_| Reason::ClientAuthMalformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Reason::ClientAuthMalformed)?;
    let (id, secret) = decoded.split_once(':').ok_or(Reason::ClientAuthMalformed)?;
    let id = percent_decode(id)?;
    let secret = percent_decode(secret)?;
    Ok((
        ClientId::parse(&id).map_err(|_| Reason::ClientAuthMalformed)?,
        secret,
    ))
}

/// `application/x-www-form-urlencoded` decoding of one credential (RFC 6749 Appendix B).
fn percent_decode(text: &str) -> Result<String, Reason> {
    let plus_as_space = text.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map_err(|_| Reason::ClientAuthMalformed)?;
    if decoded.is_empty() {
        Err(Reason::ClientAuthMalformed)
    } else {
        Ok(decoded.into_owned())
    }
}

pub(crate) mod request;

#[cfg(test)]
mod tests;
