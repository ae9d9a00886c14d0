//! Login through an upstream OpenID Connect provider (OpenID Connect Core 1.0 §3.1): the
//! authentication request (§3.1.2.1: PKCE, `state`, `nonce`), the callback (§3.1.2.5–6), the
//! token request (§3.1.3.1), the ID token checks (§3.1.3.7), the mapping to a person whose groups
//! the app's policy sees, RFC 9207 `iss` on the response, and every way it can fail ending on a
//! page. The provider is a fake with pure-Rust ES256 keys; the real one runs in
//! `tests/e2e/oidc_login.test.mjs`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::config::{Config, Settings};
use gatehouse_core::error::Reason;
use gatehouse_core::jose::alg::Alg;
use gatehouse_core::jose::jwk::Jwk;
use gatehouse_core::jose::signer::JwkVerifier;
use gatehouse_core::login::{LoginOutcome, LoginPrompt};
use gatehouse_core::net::{Fetch, FetchError, FetchedDocument, SafeUrl};
use gatehouse_core::oidc::upstream::{Upstream, UpstreamError};
use gatehouse_core::oidc::{OidcFailure, OidcStart};
use gatehouse_core::server::AuthorizeOutcome;
use gatehouse_core::site::Site;
use gatehouse_core::testing::verify_es256_jwk;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

use crate::support::*;

const IDP: &str = "https://idp.test";
const CLIENT_ID: &str = "gatehouse-wiki";
const CLIENT_SECRET: &str = "upstream-client-secret";
const CALLBACK: &str = "https://wiki.test/.gatehouse/oidc/callback";

/// Rewrites a signed ID token (a tampering network, or a forger).
type Tamper = fn(String) -> String;
/// Changes the claims before the provider signs them.
type Edit = fn(&mut Value);

/// What the fake provider has issued a code for.
struct Pending {
    nonce: String,
    challenge: String,
    redirect_uri: String,
    claims: Value,
}

/// An OpenID provider in memory: discovery, a JWK Set of ES256 keys that can rotate, an
/// authorization step the test plays, and a token endpoint that checks PKCE and signs ID tokens.
struct FakeIdp {
    keys: RefCell<Vec<(String, SigningKey)>>,
    /// The JWK Set gatehouse's cache holds: refreshed only on the first fetch and when forced.
    cached_jwks: RefCell<Option<String>>,
    pending: RefCell<BTreeMap<String, Pending>>,
    forced_jwks_fetches: Cell<u32>,
    down: Cell<bool>,
    token_endpoint_down: Cell<bool>,
    /// Rewrites the signed ID token before it is returned.
    tamper: RefCell<Option<Tamper>>,
    /// Changes the claims before signing.
    edit: RefCell<Option<Edit>>,
    discovery_issuer: RefCell<String>,
    /// The URLs gatehouse refused documents from, in order.
    refused: RefCell<Vec<String>>,
    last_token_request: RefCell<Option<(String, Option<String>)>>,
}

impl FakeIdp {
    fn new() -> Self {
        let idp = Self {
            keys: RefCell::new(Vec::new()),
            cached_jwks: RefCell::new(None),
            pending: RefCell::new(BTreeMap::new()),
            forced_jwks_fetches: Cell::new(0),
            down: Cell::new(false),
            token_endpoint_down: Cell::new(false),
            tamper: RefCell::new(None),
            edit: RefCell::new(None),
            discovery_issuer: RefCell::new(IDP.to_owned()),
            refused: RefCell::new(Vec::new()),
            last_token_request: RefCell::new(None),
        };
        idp.rotate("idp-1", 7);
        idp
    }

    /// A new current signing key; the JWK Set publishes only it (the old one is gone).
    fn rotate(&self, kid: &str, seed: u8) {
        let mut bytes = [seed; 32];
        bytes[0] = 1;
        let key = SigningKey::from_bytes(&bytes.into()).unwrap();
        *self.keys.borrow_mut() = vec![(kid.to_owned(), key)];
    }

    fn jwks(&self) -> String {
        let keys: Vec<Value> = self
            .keys
            .borrow()
            .iter()
            .map(|(kid, key)| {
                let point = key.verifying_key().to_encoded_point(false);
                json!({"kty":"EC","crv":"P-256","kid":kid,"use":"sig","alg":"ES256",
                       "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                       "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())})
            })
            .collect();
        json!({ "keys": keys }).to_string()
    }

    /// The person logs in at the provider: answers the authentication request `location` with
    /// a code for `claims` (the callback's query).
    fn authorize(&self, location: &str, claims: Value) -> String {
        let url = url::Url::parse(location).unwrap();
        assert!(
            location.starts_with("https://idp.test/authorize?"),
            "{location}"
        );
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["code_challenge_method"], "S256");
        let code = format!("code-{}", self.pending.borrow().len());
        self.pending.borrow_mut().insert(
            code.clone(),
            Pending {
                nonce: q["nonce"].clone(),
                challenge: q["code_challenge"].clone(),
                redirect_uri: q["redirect_uri"].clone(),
                claims,
            },
        );
        form(&[("code", &code), ("state", &q["state"]), ("iss", IDP)])
    }

    fn sign(&self, claims: &Value) -> String {
        let keys = self.keys.borrow();
        let (kid, key) = &keys[0];
        let header =
            URL_SAFE_NO_PAD.encode(json!({"alg":"ES256","kid":kid,"typ":"JWT"}).to_string());
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{payload}");
        let signature: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

impl Upstream for FakeIdp {
    async fn get_document(&self, url: &SafeUrl, refresh: bool) -> Result<String, UpstreamError> {
        if self.down.get() {
            return Err(UpstreamError("connection refused".into()));
        }
        match url.as_str() {
            "https://idp.test/.well-known/openid-configuration" => Ok(json!({
                "issuer": *self.discovery_issuer.borrow(),
                "authorization_endpoint": "https://idp.test/authorize",
                "token_endpoint": "https://idp.test/token",
                "jwks_uri": "https://idp.test/jwks",
                "authorization_response_iss_parameter_supported": true
            })
            .to_string()),
            "https://idp.test/jwks" => {
                if refresh {
                    self.forced_jwks_fetches
                        .set(self.forced_jwks_fetches.get() + 1);
                }
                let mut cached = self.cached_jwks.borrow_mut();
                if refresh || cached.is_none() {
                    *cached = Some(self.jwks());
                }
                Ok(cached.clone().unwrap())
            }
            _ => Err(UpstreamError(format!("404 {url}"))),
        }
    }

    async fn refuse_document(&self, url: &SafeUrl) {
        self.refused.borrow_mut().push(url.as_str().to_owned());
    }
}

/// The answer of the fake token endpoint.
fn answer(status: u16, body: String) -> Result<FetchedDocument, FetchError> {
    Ok(FetchedDocument {
        status,
        body: body.into_bytes(),
        ..FetchedDocument::default()
    })
}

impl Fetch for FakeIdp {
    async fn get(&self, url: &SafeUrl, _max_bytes: usize) -> Result<FetchedDocument, FetchError> {
        // gatehouse reads the provider's documents through `get_document`, its cache.
        Err(FetchError(format!("{url}: not fetched directly")))
    }

    async fn post_form(
        &self,
        url: &SafeUrl,
        body: &str,
        authorization: Option<&str>,
        _max_bytes: usize,
    ) -> Result<FetchedDocument, FetchError> {
        assert_eq!(url.as_str(), "https://idp.test/token");
        if self.down.get() || self.token_endpoint_down.get() {
            return Err(FetchError("connection refused".into()));
        }
        *self.last_token_request.borrow_mut() =
            Some((body.to_owned(), authorization.map(str::to_owned)));
        let f: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let invalid = answer(400, r#"{"error":"invalid_grant"}"#.to_owned());
        let Some(pending) = self.pending.borrow_mut().remove(&f["code"]) else {
            return invalid;
        };
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(f["code_verifier"].as_bytes()));
        if challenge != pending.challenge || f["redirect_uri"] != pending.redirect_uri {
            return invalid;
        }
        let mut claims = json!({
            "iss": IDP, "aud": CLIENT_ID, "iat": 1_800_000_000u64, "exp": 1_800_000_300u64,
            "nonce": pending.nonce,
        });
        for (k, v) in pending.claims.as_object().unwrap() {
            claims[k] = v.clone();
        }
        if let Some(edit) = *self.edit.borrow() {
            edit(&mut claims);
        }
        let mut id_token = self.sign(&claims);
        if let Some(tamper) = *self.tamper.borrow() {
            id_token = tamper(id_token);
        }
        answer(
            200,
            json!({"access_token":"at","token_type":"Bearer","id_token":id_token}).to_string(),
        )
    }
}

impl JwkVerifier for FakeIdp {
    async fn verify_jwk(&self, key: &Jwk, alg: Alg, input: &[u8], signature: &[u8]) -> bool {
        assert_eq!(alg, Alg::Es256);
        verify_es256_jwk(
            key.x.as_deref().unwrap(),
            key.y.as_deref().unwrap(),
            input,
            signature,
        )
    }
}

use sha2::Digest as _;

fn alice() -> Value {
    json!({"sub":"00u-alice","email":"Alice@Example.com","email_verified":true,"name":"Alice",
           "groups":["engineering","everyone"]})
}

fn bob() -> Value {
    json!({"sub":"00u-bob","email":"bob@example.com","email_verified":true,"groups":["sales"]})
}

const APPS: &str = r#"[
    {"name":"Wiki","host":"wiki.test","scopes":{"read":"Read pages"},"default_scopes":["read"],
     "policy":{"allow_groups":["engineering"],"deny_groups":["contractors"]},
     "origin":"https://wiki.internal.example"}
]"#;

fn providers(extra: &str) -> String {
    format!(
        r#"[{{"id":"corp","name":"Corp SSO","issuer":"{IDP}","client_id":"{CLIENT_ID}",
              "client_secret_env":"CORP_SECRET","allowed_domains":["example.com"]{extra}}}]"#
    )
}

fn world_with(providers: &str, accounts: Option<&str>) -> World {
    let secrets = BTreeMap::from([("CORP_SECRET".to_owned(), CLIENT_SECRET.to_owned())]);
    let config = Config::from_settings(Settings {
        apps: Some(APPS),
        local_accounts: accounts,
        secret: Some("test-secret-test-secret-test-secret!"),
        oidc_providers: Some(providers),
        oidc_secrets: Some(&secrets),
        ..Settings::default()
    })
    .unwrap();
    World::with_config(config)
}

fn world() -> World {
    world_with(&providers(""), None)
}

const BINDING: &str = "browser-binding-browser-binding-browser-bin";

fn begin(world: &World, idp: &FakeIdp) -> OidcStart {
    block_on(
        world
            .server()
            .oidc_begin("corp", "/oauth/authorize?x=1", Some(BINDING), idp),
    )
    .unwrap()
}

fn callback(world: &World, idp: &FakeIdp, query: &str) -> Result<LoginOutcome, OidcFailure> {
    block_on(world.server().oidc_callback(query, Some(BINDING), idp))
}

fn refused(result: Result<LoginOutcome, OidcFailure>) -> Reason {
    match result {
        Err(OidcFailure::Refused(reason)) => reason,
        Err(other) => panic!("not refused: {other:?}"),
        Ok(_) => panic!("logged in"),
    }
}

fn session_of(outcome: LoginOutcome) -> (String, String) {
    match outcome {
        LoginOutcome::LoggedIn {
            session, return_to, ..
        } => (session.expose_secret().to_owned(), return_to),
        other => panic!("not logged in: {other:?}"),
    }
}

/// Runs the whole login for `claims`; the raw session cookie.
fn log_in(world: &World, idp: &FakeIdp, claims: Value) -> String {
    let start = begin(world, idp);
    let query = idp.authorize(&start.location, claims);
    session_of(callback(world, idp, &query).unwrap()).0
}

#[test]
fn the_authentication_request_carries_pkce_state_nonce_and_the_exact_redirect_uri() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = begin(&world, &idp);
    let url = url::Url::parse(&start.location).unwrap();
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["redirect_uri"], CALLBACK);
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["state"].len(), 43, "256 bits");
    assert_ne!(q["nonce"], q["state"]);
    assert_eq!(
        start.binding.expose_secret(),
        BINDING,
        "an existing binding is kept"
    );
    // Neither the state nor the nonce nor the verifier is stored in the clear.
    let dump = world.store.dump();
    assert!(!dump.contains(&q["state"]) && !dump.contains(&q["nonce"]));
}

#[test]
fn a_person_logs_in_upstream_and_gets_a_session_with_their_groups() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    let (session, return_to) = session_of(callback(&world, &idp, &query).unwrap());
    assert_eq!(return_to, "/oauth/authorize?x=1");
    let person = block_on(world.server().person(Some(&session)))
        .unwrap()
        .unwrap();
    assert_eq!(person.subject, "oidc:https://idp.test#00u-alice");
    assert_eq!(person.email, "alice@example.com");
    assert_eq!(person.groups, ["engineering", "everyone"]);
    // The confidential client authenticated with Basic and sent the PKCE verifier.
    let (body, authorization) = idp.last_token_request.borrow().clone().unwrap();
    assert!(body.contains("code_verifier="));
    assert!(!body.contains("client_secret"));
    assert_eq!(authorization.unwrap(), basic(CLIENT_ID, CLIENT_SECRET));
    let event = world.store.audit.borrow().last().cloned().unwrap().1;
    assert_eq!(
        event.kind,
        gatehouse_core::model::audit::AuditKind::LoggedIn
    );
    assert_eq!(event.detail["provider"], "corp");
    assert_eq!(event.detail["name"], "Alice");
}

#[test]
fn a_replayed_callback_is_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    callback(&world, &idp, &query).unwrap();
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::OidcStateReplayed
    );
}

#[test]
fn a_state_expires_after_ten_minutes() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    world.clock.advance(600);
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::OidcStateExpired
    );
}

#[test]
fn a_callback_in_another_browser_or_with_an_unknown_state_is_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    // Login CSRF: the attacker's callback URL opened in the victim's browser.
    let other = block_on(
        world
            .server()
            .oidc_callback(&query, Some("another-browser"), &idp),
    );
    assert_eq!(refused(other), Reason::OidcStateBrowserMismatch);
    let none = block_on(world.server().oidc_callback(&query, None, &idp));
    assert_eq!(
        refused(none),
        Reason::OidcStateReplayed,
        "the state was used once already"
    );
    let forged = form(&[("code", "c"), ("state", "made-up")]);
    assert_eq!(
        refused(callback(&world, &idp, &forged)),
        Reason::OidcStateUnknown
    );
    assert_eq!(
        refused(callback(&world, &idp, "code=c")),
        Reason::OidcStateMissing
    );
}

#[test]
fn a_wrong_nonce_is_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    *idp.edit.borrow_mut() = Some(|claims| claims["nonce"] = json!("someone-elses-nonce"));
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::IdTokenNonceMismatch
    );
}

#[test]
fn a_tampered_id_token_is_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    // Another payload under the original signature: adds a group.
    *idp.tamper.borrow_mut() = Some(|token| {
        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["groups"] = json!(["engineering", "admins"]);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{}.{payload}.{}", parts[0], parts[2])
    });
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::IdTokenSignatureInvalid
    );
}

#[test]
fn algorithm_none_and_hmac_are_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    *idp.tamper.borrow_mut() = Some(|token| {
        let rest = token.split_once('.').unwrap().1;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"idp-1"}"#);
        format!("{header}.{rest}")
    });
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::IdTokenAlgorithmRefused
    );
    *idp.tamper.borrow_mut() = Some(|token| {
        let rest = token.split_once('.').unwrap().1;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"idp-1"}"#);
        format!("{header}.{rest}")
    });
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::IdTokenAlgorithmRefused
    );
}

#[test]
fn an_unknown_kid_refetches_the_jwks_once_and_then_verifies() {
    let (world, idp) = (world(), FakeIdp::new());
    log_in(&world, &idp, alice());
    assert_eq!(
        idp.forced_jwks_fetches.get(),
        0,
        "the first fetch fills the cache"
    );
    idp.rotate("idp-2", 9);
    log_in(&world, &idp, alice());
    assert_eq!(
        idp.forced_jwks_fetches.get(),
        1,
        "one refetch for the new kid"
    );
    log_in(&world, &idp, alice());
    assert_eq!(idp.forced_jwks_fetches.get(), 1, "then the cache knows it");
}

#[test]
fn a_kid_missing_even_after_the_refetch_is_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    *idp.tamper.borrow_mut() = Some(|token| {
        let rest = token.split_once('.').unwrap().1;
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","kid":"nobody"}"#);
        format!("{header}.{rest}")
    });
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::IdTokenKeyUnknown
    );
    assert_eq!(idp.forced_jwks_fetches.get(), 1);
}

#[test]
fn issuer_audience_and_expiry_of_the_id_token_are_checked() {
    let rows: [(Edit, Reason); 5] = [
        (
            |c| c["iss"] = json!("https://evil.test"),
            Reason::IdTokenIssuerMismatch,
        ),
        (
            |c| c["aud"] = json!("another-client"),
            Reason::IdTokenAudienceMismatch,
        ),
        (
            |c| c["aud"] = json!([CLIENT_ID, "another-client"]),
            Reason::IdTokenAudienceMismatch,
        ),
        (
            |c| c["azp"] = json!("another-client"),
            Reason::IdTokenAudienceMismatch,
        ),
        (
            |c| c["exp"] = json!(1_799_999_000u64),
            Reason::IdTokenExpired,
        ),
    ];
    for (edit, reason) in rows {
        let (world, idp) = (world(), FakeIdp::new());
        *idp.edit.borrow_mut() = Some(edit);
        let start = begin(&world, &idp);
        let query = idp.authorize(&start.location, alice());
        assert_eq!(refused(callback(&world, &idp, &query)), reason);
    }
    // Several audiences are fine when `azp` names us (Core §3.1.3.7 items 4–5).
    let (world, idp) = (world(), FakeIdp::new());
    *idp.edit.borrow_mut() = Some(|c| {
        c["aud"] = json!([CLIENT_ID, "api"]);
        c["azp"] = json!(CLIENT_ID);
    });
    log_in(&world, &idp, alice());
}

#[test]
fn email_must_be_verified_present_and_in_an_allowed_domain() {
    let rows = [
        (
            json!({"sub":"s","email":"a@example.com","email_verified":false}),
            Reason::UpstreamEmailUnverified,
        ),
        (
            json!({"sub":"s","email":"a@example.com"}),
            Reason::UpstreamEmailUnverified,
        ),
        (
            json!({"sub":"s","email_verified":true}),
            Reason::UpstreamEmailMissing,
        ),
        (
            json!({"sub":"s","email":"a@evil.example","email_verified":true}),
            Reason::UpstreamDomainRefused,
        ),
        (
            json!({"sub":"s","email":"a@sub.example.com","email_verified":true}),
            Reason::UpstreamDomainRefused,
        ),
    ];
    for (claims, reason) in rows {
        let (world, idp) = (world(), FakeIdp::new());
        let start = begin(&world, &idp);
        let query = idp.authorize(&start.location, claims);
        assert_eq!(refused(callback(&world, &idp, &query)), reason);
    }
    // trust_email: the provider verifies every address without saying so.
    let (world, idp) = (
        world_with(&providers(r#","trust_email":true"#), None),
        FakeIdp::new(),
    );
    log_in(&world, &idp, json!({"sub":"s","email":"a@example.com"}));
}

#[test]
fn group_policy_applies_to_the_browser_and_to_agents() {
    let (world, idp) = (world(), FakeIdp::new());
    let alice = log_in(&world, &idp, alice());
    let bob = log_in(&world, &idp, bob());
    let contractor = log_in(
        &world,
        &idp,
        json!({"sub":"c","email":"carol@example.com","email_verified":true,"groups":["engineering","contractors"]}),
    );
    let gate = |session: &str| {
        let request = gatehouse_core::gatekeeper::GateRequest {
            method: "GET",
            path: "/page",
            session: Some(session),
            accept: Some("text/html"),
            ..Default::default()
        };
        block_on(world.server().gate(&request, &world.signer)).unwrap()
    };
    assert!(matches!(
        gate(&alice),
        gatehouse_core::gatekeeper::Gate::Allow(_)
    ));
    assert!(matches!(
        gate(&bob),
        gatehouse_core::gatekeeper::Gate::Forbidden(_)
    ));
    assert!(matches!(
        gate(&contractor),
        gatehouse_core::gatekeeper::Gate::Forbidden(_)
    ));

    // The agent: alice gets to consent, bob's authorization ends in access_denied.
    let client = world.public_client();
    let query = world.authorization_query(&client, REDIRECT, &[]);
    assert!(matches!(
        world.authorize(&query, Some(&alice)),
        Ok(AuthorizeOutcome::Consent(_))
    ));
    match world.authorize(&query, Some(&bob)) {
        Err(AuthorizeError::Redirect { error, .. }) => {
            assert_eq!(error.reason, Reason::PolicyDenied)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_agents_token_carries_the_upstream_groups() {
    let (world, idp) = (world(), FakeIdp::new());
    let session = log_in(&world, &idp, alice());
    let client = world.public_client();
    let location = world.authorize_and_consent(&client, &session, &[]);
    let code = param(&location, "code").unwrap();
    let tokens = world.exchange(&client, &code).unwrap();
    let claims = claims(&tokens.access_token);
    assert_eq!(claims["sub"], "oidc:https://idp.test#00u-alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["groups"], json!(["engineering", "everyone"]));
}

#[test]
fn a_provider_that_is_down_ends_on_an_unavailable_page() {
    let (world, idp) = (world(), FakeIdp::new());
    idp.down.set(true);
    let start = block_on(world.server().oidc_begin("corp", "/", Some(BINDING), &idp));
    assert!(
        matches!(start, Err(OidcFailure::Unavailable(_))),
        "{start:?}"
    );
    idp.down.set(false);
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    idp.token_endpoint_down.set(true);
    assert!(matches!(
        callback(&world, &idp, &query),
        Err(OidcFailure::Unavailable(_))
    ));
}

#[test]
fn upstream_errors_and_mixups_are_refused() {
    let (world, idp) = (world(), FakeIdp::new());
    // The person cancelled at the provider.
    let start = begin(&world, &idp);
    let state = url::Url::parse(&start.location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cancelled = form(&[("error", "access_denied"), ("state", &state), ("iss", IDP)]);
    assert_eq!(
        refused(callback(&world, &idp, &cancelled)),
        Reason::UpstreamDenied
    );
    // An error response claiming to come from another provider is a mix-up, not a cancellation.
    let start = begin(&world, &idp);
    let state = url::Url::parse(&start.location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let foreign = form(&[
        ("error", "access_denied"),
        ("state", &state),
        ("iss", "https://evil.test"),
    ]);
    assert_eq!(
        refused(callback(&world, &idp, &foreign)),
        Reason::UpstreamIssuerMismatch
    );
    // RFC 9207: a response naming another issuer (mix-up), or none when it is promised.
    for iss in [Some("https://evil.test"), None] {
        let start = begin(&world, &idp);
        let query = idp.authorize(&start.location, alice());
        let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .filter(|(k, _)| k != "iss")
            .chain(iss.map(|i| ("iss".to_owned(), i.to_owned())))
            .collect();
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        assert_eq!(
            refused(callback(&world, &idp, &query)),
            Reason::UpstreamIssuerMismatch
        );
    }
    // A code the provider does not know (or a wrong PKCE verifier) is refused at its token endpoint.
    let start = begin(&world, &idp);
    let query = idp.authorize(&start.location, alice());
    idp.pending.borrow_mut().clear();
    assert_eq!(
        refused(callback(&world, &idp, &query)),
        Reason::UpstreamTokenRefused
    );
}

#[test]
fn a_discovery_document_naming_another_issuer_is_not_used() {
    let (world, idp) = (world(), FakeIdp::new());
    *idp.discovery_issuer.borrow_mut() = "https://idp.test/".to_owned();
    let start = block_on(world.server().oidc_begin("corp", "/", Some(BINDING), &idp));
    assert!(
        matches!(start, Err(OidcFailure::Unavailable(_))),
        "{start:?}"
    );
    // Issue 18: the refused document must not stay cached for an hour after the provider (or
    // the operator) fixes it; the platform is told to drop it, and the fixed one is used.
    assert_eq!(
        *idp.refused.borrow(),
        ["https://idp.test/.well-known/openid-configuration"]
    );
    *idp.discovery_issuer.borrow_mut() = IDP.to_owned();
    let start = block_on(world.server().oidc_begin("corp", "/", Some(BINDING), &idp));
    assert!(start.is_ok(), "{start:?}");
    assert_eq!(idp.refused.borrow().len(), 1, "a valid document is kept");
}

#[test]
fn the_login_page_is_a_chooser_unless_one_provider_is_the_only_way_in() {
    let sole = world();
    let site = Site::resolve(&sole.config.apps, ISSUER, HOST, "/").unwrap();
    let prompt = LoginPrompt::for_app(&sole.config, &site, "/x");
    assert_eq!(prompt.sole_provider(), Some("corp"));
    assert!(!prompt.local);
    let accounts = r#"{"alice@example.com":"pbkdf2-sha256:10000:Z2F0ZWhvdXNlLXRlc3RzIQ:t1-oClZvwdHWR8OyOn2BC4OkSqsGtC7B57tHyMgQtVE"}"#;
    let both = world_with(&providers(""), Some(accounts));
    let site = Site::resolve(&both.config.apps, ISSUER, HOST, "/").unwrap();
    let prompt = LoginPrompt::for_app(&both.config, &site, "/x");
    assert_eq!(prompt.sole_provider(), None);
    assert!(prompt.local);
    assert_eq!(prompt.providers[0].name, "Corp SSO");
    assert_eq!(prompt.provider_action, "/.gatehouse/oidc/start");
}

#[test]
fn the_provider_button_needs_the_csrf_token_and_a_known_provider() {
    let (world, idp) = (world(), FakeIdp::new());
    let body = form(&[
        ("provider", "corp"),
        ("return_to", "/x"),
        ("csrf_token", CSRF),
    ]);
    let started = block_on(
        world
            .server()
            .oidc_start(body.as_bytes(), Some(CSRF), None, &idp),
    );
    let started = started.unwrap();
    assert!(started.location.starts_with("https://idp.test/authorize?"));
    assert_eq!(started.binding.expose_secret().len(), 43, "a new binding");
    let wrong = block_on(
        world
            .server()
            .oidc_start(body.as_bytes(), Some("other"), None, &idp),
    );
    assert!(matches!(
        wrong,
        Err(OidcFailure::Refused(Reason::CsrfMismatch))
    ));
    let unknown = form(&[("provider", "nope"), ("csrf_token", CSRF)]);
    let unknown = block_on(
        world
            .server()
            .oidc_start(unknown.as_bytes(), Some(CSRF), None, &idp),
    );
    assert!(matches!(
        unknown,
        Err(OidcFailure::Refused(Reason::OidcProviderUnknown))
    ));
}

#[test]
fn return_to_cannot_leave_the_host() {
    let (world, idp) = (world(), FakeIdp::new());
    let start = block_on(
        world
            .server()
            .oidc_begin("corp", "//evil.example/", Some(BINDING), &idp),
    )
    .unwrap();
    let query = idp.authorize(&start.location, alice());
    assert_eq!(session_of(callback(&world, &idp, &query).unwrap()).1, "/");
}
