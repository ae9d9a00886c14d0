//! The two steps of an upstream login, as features of a [`Context`]: sending the browser to the provider,
//! and its return to the callback.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::discovery::{self, ProviderMetadata};
use super::id_token::{self, Expected};
use super::identity;
use super::provider::Provider;
use super::state::{self, STATE_KEY_LABEL, STATE_TTL_SECS, StateRecord, StateUse};
use super::upstream::{MAX_UPSTREAM_BYTES, Upstream, UpstreamError};
use crate::context::Context;
use crate::csrf;
use crate::error::Reason;
use crate::form::Form;
use crate::jose::jwk::JwkSet;
use crate::jose::signer::Signer;
use crate::login::{self, LoginOutcome};
use crate::net::SafeUrl;
use crate::paths;
use crate::rng::Rng;
use crate::secret::{BrowserBinding, OidcState};
use crate::site::Site;
use crate::store::{Store, StoreError};

/// Where the browser goes to log in upstream.
#[derive(Debug)]
pub struct OidcStart {
    /// The provider's authentication request URL.
    pub location: String,
    /// The browser-binding cookie to set: the browser's own if it had a well-formed one, else a
    /// new one (set again either way, so it outlives the state).
    pub binding: BrowserBinding,
}

/// Why an upstream login did not complete. Each ends on a page, never a redirect.
#[derive(Debug)]
pub enum OidcFailure {
    /// Refused: a `400` page explaining the reason.
    Refused(Reason),
    /// The provider could not be reached or answered nonsense: `503` + `Retry-After`. The
    /// message is for the operator's log.
    Unavailable(String),
    /// Storage is down: `503` + `Retry-After`.
    Store(StoreError),
    /// Migration mode: logins wait until it ends.
    Paused(crate::migration::Paused),
}

impl From<crate::migration::Paused> for OidcFailure {
    fn from(paused: crate::migration::Paused) -> Self {
        Self::Paused(paused)
    }
}

impl From<Reason> for OidcFailure {
    fn from(reason: Reason) -> Self {
        Self::Refused(reason)
    }
}

impl From<StoreError> for OidcFailure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<UpstreamError> for OidcFailure {
    fn from(error: UpstreamError) -> Self {
        Self::Unavailable(error.0)
    }
}

/// The form of `POST /.gatehouse/oidc/start` (the login page's provider button), CSRF-checked:
/// the provider chosen and where to come back to, for [`oidc_begin`].
pub fn start_form<'f>(
    form: &'f Form,
    csrf_cookie: Option<&str>,
) -> Result<(&'f str, &'f str), OidcFailure> {
    csrf::verify(csrf_cookie, form.get(csrf::FIELD)?)?;
    let provider = form.require("provider")?;
    let return_to = form.get("return_to")?.unwrap_or("/");
    Ok((provider, return_to))
}

/// Starts a login at `provider_id` that comes back to `return_to`: stores the state, bound
/// to this browser, and builds the authentication request (Core §3.1.2.1).
pub async fn oidc_begin<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    providers: &[Provider],
    provider_id: &str,
    return_to: &str,
    binding_cookie: Option<&str>,
    upstream: &impl Upstream,
) -> Result<OidcStart, OidcFailure> {
    let provider = provider(providers, provider_id)?;
    let metadata = metadata(provider, upstream).await?;
    let binding = match binding_cookie.filter(|c| BrowserBinding::is_well_formed(c)) {
        Some(existing) => BrowserBinding::from_presented(existing),
        None => BrowserBinding::issue(cx.rng),
    };
    let state = OidcState::issue(cx.rng);
    let record = StateRecord {
        state_hash: state.hash(),
        binding_hash: binding.hash(),
        provider: provider.id.clone(),
        app: cx.site.resource.clone(),
        return_to: login::return_to(return_to),
        expires_at: cx.now.plus(STATE_TTL_SECS),
    };
    cx.store.insert_oidc_state(&record, cx.now).await?;
    let derived = state::derive(&state_key(cx), state.expose_secret());
    let location = state::authorization_url(
        &metadata.authorization_endpoint,
        &provider.client_id,
        &oidc_redirect_uri(&cx.site),
        &provider.scopes,
        state.expose_secret(),
        &derived,
    )
    .ok_or_else(|| OidcFailure::Unavailable("authorization_endpoint is not a URL".into()))?;
    Ok(OidcStart { location, binding })
}

/// `GET /.gatehouse/oidc/callback`: the provider's authentication response (Core §3.1.2.5,
/// §3.1.2.6). Checks the state, exchanges the code (§3.1.3), verifies the ID token
/// (§3.1.3.7) and opens a session for the person.
pub async fn oidc_callback<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    providers: &[Provider],
    query: &str,
    binding_cookie: Option<&str>,
    upstream: &impl Upstream,
) -> Result<LoginOutcome, OidcFailure> {
    let params = Form::parse(query.as_bytes())?;
    let presented = params.get("state")?.ok_or(Reason::OidcStateMissing)?;
    let record = match cx
        .store
        .consume_oidc_state(&OidcState::from_presented(presented).hash(), cx.now)
        .await?
    {
        StateUse::Fresh(record) => record,
        StateUse::Replayed => return Err(Reason::OidcStateReplayed.into()),
        StateUse::Unknown => return Err(Reason::OidcStateUnknown.into()),
    };
    // RFC 9700 §4.7.1: the state is bound to the browser that started the login, so a
    // callback URL pushed into another browser (login CSRF) logs nobody in there.
    let bound = binding_cookie.is_some_and(|c| {
        BrowserBinding::from_presented(c)
            .hash()
            .ct_eq(&record.binding_hash)
    });
    if !bound || record.app != cx.site.resource {
        return Err(Reason::OidcStateBrowserMismatch.into());
    }
    if cx.now >= record.expires_at {
        return Err(Reason::OidcStateExpired.into());
    }
    let provider = provider(providers, &record.provider)?;
    let metadata = metadata(provider, upstream).await?;
    // RFC 9207 §2.4: with `iss` in the response (error responses included), it must be the
    // provider's issuer (mix-up defence); a provider that promises it must send it.
    match params.get("iss")? {
        Some(iss) if iss != metadata.issuer => {
            return Err(Reason::UpstreamIssuerMismatch.into());
        }
        None if metadata.authorization_response_iss_parameter_supported => {
            return Err(Reason::UpstreamIssuerMismatch.into());
        }
        _ => {}
    }
    // Core §3.1.2.6: the provider answered with an error (the person cancelled, or is not
    // assigned to the application).
    if params.get("error")?.is_some() {
        return Err(Reason::UpstreamDenied.into());
    }
    let code = params.get("code")?.ok_or(Reason::UpstreamCodeMissing)?;
    let derived = state::derive(&state_key(cx), presented);
    let id_token = exchange(
        cx,
        provider,
        &metadata,
        code,
        &derived.code_verifier,
        upstream,
    )
    .await?;
    let signed = id_token::parse(&id_token)?;
    let (alg, kid) = (signed.alg, signed.kid.clone());
    let mut keys = fetch_jwks(upstream, &metadata.jwks_uri, false).await?;
    if keys.find(alg, kid.as_deref()).is_none() {
        // The provider rotated its keys since we cached them: fetch once more (the platform
        // does so at most once a minute per provider).
        keys = fetch_jwks(upstream, &metadata.jwks_uri, true).await?;
    }
    let key = keys
        .find(alg, kid.as_deref())
        .ok_or(Reason::IdTokenKeyUnknown)?;
    let verified = signed
        .verify(id_token::HIGH_S, async |input, signature| {
            Ok::<_, OidcFailure>(upstream.verify_jwk(key, alg, input, signature).await)
        })
        .await?
        .map_err(id_token::reason)?;
    let claims = id_token::check_claims(
        verified.payload(),
        &Expected {
            issuer: &metadata.issuer,
            client_id: &provider.client_id,
            nonce: &derived.nonce,
            now: cx.now,
        },
    )?;
    let (person, name) = identity::person(provider, &claims)?;
    let detail = serde_json::json!({ "provider": provider.id, "name": name });
    let session = login::open_session(cx, person, detail).await?;
    Ok(LoginOutcome::LoggedIn {
        session,
        max_age_secs: login::SESSION_TTL_SECS,
        return_to: record.return_to,
    })
}

/// The token request (Core §3.1.3.1) with the PKCE verifier; the ID token of the answer.
async fn exchange<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    provider: &Provider,
    metadata: &ProviderMetadata,
    code: &str,
    code_verifier: &str,
    upstream: &impl Upstream,
) -> Result<String, OidcFailure> {
    let redirect_uri = oidc_redirect_uri(&cx.site);
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("code_verifier", code_verifier);
    // RFC 6749 §2.3.1: client_secret_basic, each part form-encoded first. A public client
    // names itself in the body (§3.2.1).
    let authorization = match &provider.client_secret {
        Some(secret) => {
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!(
                "{}:{}",
                encode(&provider.client_id),
                encode(secret.expose_secret())
            );
            Some(format!("Basic {}", STANDARD.encode(pair)))
        }
        None => {
            form.append_pair("client_id", &provider.client_id);
            None
        }
    };
    let response = upstream
        .post_form(
            &metadata.token_endpoint,
            &form.finish(),
            authorization.as_deref(),
            MAX_UPSTREAM_BYTES,
        )
        .await
        .map_err(|e| UpstreamError(e.0))?;
    if response.body.len() > MAX_UPSTREAM_BYTES {
        return Err(OidcFailure::Unavailable(format!(
            "the token endpoint answered more than {} bytes",
            MAX_UPSTREAM_BYTES
        )));
    }
    let (status, body) = (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    );
    match status {
        200 => {}
        400..=499 => return Err(Reason::UpstreamTokenRefused.into()),
        _ => {
            return Err(OidcFailure::Unavailable(format!(
                "the token endpoint answered {status}"
            )));
        }
    }
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        id_token: Option<String>,
    }
    serde_json::from_str::<TokenResponse>(&body)
        .ok()
        .and_then(|t| t.id_token)
        .ok_or_else(|| Reason::IdTokenMalformed.into())
}

fn provider<'p>(providers: &'p [Provider], id: &str) -> Result<&'p Provider, OidcFailure> {
    providers
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Reason::OidcProviderUnknown.into())
}

fn state_key<S: Store, K: Signer, R: Rng>(cx: &Context<'_, S, K, R>) -> [u8; 32] {
    cx.secret.derive(STATE_KEY_LABEL)
}

/// The redirect URI registered at the provider for this app: its origin, its path prefix,
/// and [`paths::OIDC_CALLBACK`].
pub fn oidc_redirect_uri(site: &Site<'_>) -> String {
    format!("{}{}", site.origin, site.path(paths::OIDC_CALLBACK))
}

/// The provider's validated discovery document.
async fn metadata(
    provider: &Provider,
    upstream: &impl Upstream,
) -> Result<ProviderMetadata, OidcFailure> {
    let url = provider
        .endpoint(&discovery::discovery_url(&provider.issuer))
        .map_err(|e| {
            OidcFailure::Unavailable(format!(
                "the discovery URL of provider {:?} is refused: {e:?}",
                provider.id
            ))
        })?;
    let document = upstream.get_document(&url, false).await?;
    match ProviderMetadata::parse(provider, &document) {
        Ok(metadata) => Ok(metadata),
        Err(e) => {
            upstream.refuse_document(&url).await;
            Err(OidcFailure::Unavailable(format!(
                "the discovery document of provider {:?} at {url} was refused: {e:?}",
                provider.id
            )))
        }
    }
}

/// The provider's JWK Set, cached unless `refresh`.
async fn fetch_jwks(
    upstream: &impl Upstream,
    url: &SafeUrl,
    refresh: bool,
) -> Result<JwkSet, OidcFailure> {
    let document = upstream.get_document(url, refresh).await?;
    match JwkSet::parse(&document) {
        Some(jwks) => Ok(jwks),
        None => {
            upstream.refuse_document(url).await;
            Err(OidcFailure::Unavailable(format!(
                "the JWK Set at {url} does not parse"
            )))
        }
    }
}
