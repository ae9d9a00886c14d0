//! A whole authorization server in memory, and the steps of the flows the spec tests drive.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::authorize::AuthorizeError;
use gatehouse_core::config::{Config, Settings};
use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::{Gate, GateRequest, Identity};
use gatehouse_core::grants::TokenResponse;
use gatehouse_core::login::LoginOutcome;
use gatehouse_core::server::{AuthorizeOutcome, Failure, Server};
use gatehouse_core::site::Site;
use gatehouse_core::testing::{FixedClock, MemoryStore, RustPbkdf2, SeqRng, TestSigner};
use gatehouse_core::time::Clock as _;
use sha2::Digest as _;

mod clients;
mod revocations;

pub use clients::*;
pub use revocations::*;

pub const ISSUER: &str = "https://wiki.test";
pub const HOST: &str = "wiki.test";
pub const OTHER_ISSUER: &str = "https://files.test";
pub const PASSWORD: &str = "correct horse";
pub const REDIRECT: &str = "http://127.0.0.1:4242/callback";
/// A valid PKCE verifier and its S256 challenge (RFC 7636 Appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const CSRF: &str = "csrf-token-value-0123456789";
/// The server secret of [`World::new`].
pub const SECRET: &str = "test-secret-test-secret-test-secret!";
pub const ADMIN_TOKEN: &str = "admin-token-admin-token-admin-token0";

const HASH: &str =
    "pbkdf2-sha256:10000:Z2F0ZWhvdXNlLXRlc3RzIQ:t1-oClZvwdHWR8OyOn2BC4OkSqsGtC7B57tHyMgQtVE";

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// The server's world: configuration, storage, keys, randomness and time.
pub struct World {
    pub config: Config,
    pub store: MemoryStore,
    pub signer: TestSigner,
    pub rng: SeqRng,
    pub clock: FixedClock,
    /// The path requests are served at: `/` (the Wiki app) unless a test moves to another app
    /// on the same host (`/docs`).
    pub mount: std::cell::Cell<&'static str>,
}

/// A client as the registration response described it.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
}

impl World {
    pub fn new() -> Self {
        Self::with_config(Self::config_with_secrets(SECRET, None))
    }

    /// The standard configuration under `secret`, and `previous` as `GATEHOUSE_SECRET_PREVIOUS`.
    pub fn config_with_secrets(secret: &str, previous: Option<&str>) -> Config {
        let apps = r#"[
            {"name":"Wiki","host":"wiki.test","scopes":{"read":"Read pages","write":"Edit pages"},
             "default_scopes":["read"],"policy":{"allow_domains":["example.com"],"deny_emails":["mallory@example.com"]},
             "origin":"https://wiki.internal.example",
             "routes":[{"methods":["GET","HEAD"],"path":"/api/**","scope":"read"},{"methods":["POST","PUT","PATCH","DELETE"],"path":"/api/**","scope":"write"}],
             "public_paths":["/health"]},
            {"name":"Files","host":"files.test","scopes":{"read":"Read files"},
             "policy":{"allow_emails":["bob@example.com"]},"origin":"https://files.internal.example"},
            {"name":"Docs","host":"wiki.test","path_prefix":"/docs","scopes":{"read":"Read docs"},"default_scopes":["read"],
             "policy":{"allow_domains":["example.com"]},"origin":"https://docs.internal.example"}
        ]"#;
        let accounts = format!(
            r#"{{"alice@example.com":"{HASH}","bob@example.com":"{HASH}","mallory@example.com":"{HASH}","eve@evil.example":"{HASH}"}}"#
        );
        Config::from_settings(Settings {
            apps: Some(apps),
            local_accounts: Some(&accounts),
            secret: Some(secret),
            secret_previous: previous,
            admin_token: Some(ADMIN_TOKEN),
            ..Settings::default()
        })
        .unwrap()
    }

    /// A world with this configuration.
    pub fn with_config(config: Config) -> Self {
        Self {
            config,
            store: MemoryStore::default(),
            signer: TestSigner::new(),
            rng: SeqRng::default(),
            clock: FixedClock::at(1_800_000_000),
            mount: std::cell::Cell::new("/"),
        }
    }

    pub fn server(&self) -> Server<'_, MemoryStore, TestSigner, SeqRng> {
        let site = Site::resolve(&self.config.apps, ISSUER, HOST, self.mount.get()).unwrap();
        Server::new(
            &self.config,
            site,
            &self.store,
            &self.signer,
            &self.rng,
            &self.clock,
        )
    }

    /// `POST /oauth/revoke` as the Worker serves it: the answer, then what the revocation left
    /// for after it ([`gatehouse_core::revocation::Pending::finish`], under `waitUntil`, whose
    /// failure is only logged).
    pub fn revoke(&self, body: &[u8], authorization: Option<&str>) -> Result<(), Failure> {
        self.revoke_with(&self.server(), body, authorization)
    }

    /// [`Self::revoke`] through `server`.
    pub fn revoke_with(
        &self,
        server: &Server<'_, MemoryStore, TestSigner, SeqRng>,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<(), Failure> {
        let pending = block_on(server.revoke(body, authorization))?;
        let _ = block_on(pending.finish(&self.store, self.clock.now()));
        Ok(())
    }

    pub fn server_at(&self, issuer: &str) -> Server<'_, MemoryStore, TestSigner, SeqRng> {
        let host = issuer.trim_start_matches("https://");
        let site = Site::resolve(&self.config.apps, issuer, host, "/").unwrap();
        Server::new(
            &self.config,
            site,
            &self.store,
            &self.signer,
            &self.rng,
            &self.clock,
        )
    }

    /// Registers a client from `json`.
    pub fn register(&self, json: &str) -> Client {
        let registered = block_on(self.server().register(json.as_bytes(), "192.0.2.1")).unwrap();
        let response: serde_json::Value = serde_json::to_value(registered.response()).unwrap();
        Client {
            id: response["client_id"].as_str().unwrap().to_owned(),
            secret: response["client_secret"].as_str().map(str::to_owned),
        }
    }

    /// A public client, as MCP clients register.
    pub fn public_client(&self) -> Client {
        self.register(&format!(
            r#"{{"client_name":"Agent","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none",
                "grant_types":["authorization_code","refresh_token"]}}"#
        ))
    }

    /// A confidential client using HTTP Basic.
    pub fn confidential_client(&self) -> Client {
        self.register(r#"{"client_name":"Server agent","redirect_uris":["https://agent.example/cb"],"grant_types":["authorization_code","refresh_token"]}"#)
    }

    /// Logs `email` in and returns the raw session cookie.
    pub fn login(&self, email: &str) -> String {
        let body = form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", CSRF),
            ("return_to", "/oauth/authorize?x=1"),
        ]);
        match block_on(
            self.server()
                .login(body.as_bytes(), Some(CSRF), &RustPbkdf2),
        )
        .unwrap()
        {
            LoginOutcome::LoggedIn { session, .. } => session.expose_secret().to_owned(),
            LoginOutcome::Retry(prompt) | LoginOutcome::Throttled { prompt, .. } => {
                panic!("login refused: {:?}", prompt.error)
            }
            LoginOutcome::Paused(paused) => panic!("login paused: {paused:?}"),
        }
    }

    /// The query string of an authorization request by `client` with the standard parameters,
    /// `extra` appended.
    pub fn authorization_query(
        &self,
        client: &Client,
        redirect: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", redirect),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "st4te"),
            ("resource", ISSUER),
        ];
        // A parameter in `extra` replaces the standard one of that name.
        params.retain(|(name, _)| !extra.iter().any(|(e, _)| e == name));
        params.extend_from_slice(extra);
        form(&params)
    }

    pub fn authorize(
        &self,
        query: &str,
        session: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        block_on(self.server().authorize(query, session))
    }

    /// Approves (or denies) the consent prompt for `query`.
    pub fn decide(
        &self,
        query: &str,
        session: &str,
        decision: &str,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        let body = form(&[
            ("authorization_request", query),
            ("decision", decision),
            ("csrf_token", CSRF),
        ]);
        block_on(
            self.server()
                .consent(body.as_bytes(), Some(session), Some(CSRF)),
        )
    }

    /// Runs authorize → login → consent and returns the redirect URL with the code.
    pub fn authorize_and_consent(
        &self,
        client: &Client,
        session: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let redirect = if client.secret.is_some() {
            "https://agent.example/cb"
        } else {
            REDIRECT
        };
        let query = self.authorization_query(client, redirect, extra);
        match self.authorize(&query, Some(session)).unwrap() {
            AuthorizeOutcome::Consent(_) => {
                match self.decide(&query, session, "approve").unwrap() {
                    AuthorizeOutcome::Redirect(location) => location,
                    other => panic!("consent did not redirect: {other:?}"),
                }
            }
            AuthorizeOutcome::Redirect(location) => location,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }

    /// A code for `client`, issued to alice.
    pub fn code(&self, client: &Client) -> String {
        let session = self.login("alice@example.com");
        param(&self.authorize_and_consent(client, &session, &[]), "code").unwrap()
    }

    /// A token request with `params`; confidential clients authenticate with Basic.
    pub fn token(
        &self,
        client: &Client,
        params: &[(&str, &str)],
    ) -> Result<TokenResponse, Failure> {
        let (body, basic) = client_form(client, params);
        block_on(self.server().token(body.as_bytes(), basic.as_deref()))
    }

    /// A token request at the app served on `issuer`.
    pub fn token_at(
        &self,
        issuer: &str,
        client: &Client,
        params: &[(&str, &str)],
    ) -> Result<TokenResponse, Failure> {
        let mut params = params.to_vec();
        let basic = match &client.secret {
            Some(secret) => Some(basic(&client.id, secret)),
            None => {
                params.push(("client_id", client.id.as_str()));
                None
            }
        };
        block_on(
            self.server_at(issuer)
                .token(form(&params).as_bytes(), basic.as_deref()),
        )
    }

    /// Exchanges a code with the right verifier and redirect URI.
    pub fn exchange(&self, client: &Client, code: &str) -> Result<TokenResponse, Failure> {
        let redirect = if client.secret.is_some() {
            "https://agent.example/cb"
        } else {
            REDIRECT
        };
        self.token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
                ("code_verifier", VERIFIER),
            ],
        )
    }

    pub fn refresh(&self, client: &Client, refresh_token: &str) -> Result<TokenResponse, Failure> {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
    }

    /// A fresh token pair for alice.
    pub fn tokens(&self, client: &Client) -> TokenResponse {
        self.exchange(client, &self.code(client)).unwrap()
    }
}

/// A client's form request to the token, revocation or introspection endpoint: the body with
/// `client_id` for a public client, or the Basic header for a confidential one.
pub fn client_form(client: &Client, params: &[(&str, &str)]) -> (String, Option<String>) {
    let mut params = params.to_vec();
    let basic = match &client.secret {
        Some(secret) => Some(basic(&client.id, secret)),
        None => {
            params.push(("client_id", client.id.as_str()));
            None
        }
    };
    (form(&params), basic)
}

/// `application/x-www-form-urlencoded` of `params`.
pub fn form(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

pub fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            encode(id),
            encode(secret)
        ))
    )
}

/// A query parameter of a redirect URL.
pub fn param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The OAuth error of a failure.
pub fn error_of(result: Result<TokenResponse, Failure>) -> gatehouse_core::error::OAuthError {
    match result {
        Err(Failure::OAuth { error, .. }) => error,
        other => panic!("expected an OAuth error, got {other:?}"),
    }
}

/// The grant an access token was issued under.
pub fn grant_of(access_token: &str) -> gatehouse_core::grant_id::GrantId {
    gatehouse_core::grant_id::GrantId::from_stored(
        claims(access_token)["grant_id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// The grant a code names: its body is `<grant id>.<random>`, then the tag.
pub fn grant_named_by(code: &str) -> gatehouse_core::grant_id::GrantId {
    gatehouse_core::grant_id::GrantId::from_stored(code.split('.').next().unwrap().to_owned())
}

/// A code of the format before codes named their grant (the random part alone, tagged), for
/// `client` under the grant of a code issued to alice now; the code and that grant.
pub fn unnamed_code(world: &World, client: &Client) -> (String, gatehouse_core::grant_id::GrantId) {
    use gatehouse_core::store::{CodeRecord, CodeStore as _};
    let grant = grant_named_by(&world.code(client));
    let unnamed = world.config.identifiers.issue_unnamed_code(&world.rng);
    let record = CodeRecord {
        code_hash: unnamed.hash(),
        grant_id: grant.clone(),
        client_id: gatehouse_core::types::ClientId::parse(&client.id).unwrap(),
        redirect_uri: REDIRECT.into(),
        code_challenge: CHALLENGE.into(),
        resource: ISSUER.into(),
        scopes: gatehouse_core::types::Scopes::parse("read").unwrap(),
        expires_at: world.server().now.plus(60),
    };
    block_on(world.store.insert_code(&record, world.server().now)).unwrap();
    (unnamed.expose_secret().to_owned(), grant)
}

/// The claims of a JWT, without verifying it.
pub fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

// The gatekeeper, as an agent meets it.

pub fn gate(world: &World, req: GateRequest<'_>) -> Gate {
    block_on(world.server().gate(&req, &world.signer)).unwrap()
}

pub fn api(method: &'static str, authorization: Option<&str>) -> GateRequest<'static> {
    // The strings live as long as the test; leak for the 'static convenience.
    let authorization = authorization.map(|a| &*Box::leak(a.to_owned().into_boxed_str()));
    GateRequest {
        method,
        path: "/api/notes",
        authorization,
        accept: Some("*/*"),
        ..GateRequest::default()
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub fn challenge(gate: Gate) -> (u16, String, Option<Reason>) {
    match gate {
        Gate::Challenge {
            status,
            www_authenticate,
            error,
        } => (status, www_authenticate, error.map(|e| e.reason)),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

pub fn allowed(gate: Gate) -> Identity {
    match gate {
        Gate::Allow(identity) => identity,
        other => panic!("expected to be let in, got {other:?}"),
    }
}

/// `n`, the order of the P-256 group, big-endian (SEC 2 v2 §2.4.2).
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// The `S` half of a compact ES256 JWS's signature.
pub fn es256_s(jws: &str) -> [u8; 32] {
    let signature = URL_SAFE_NO_PAD
        .decode(jws.rsplit('.').next().unwrap())
        .unwrap();
    signature[32..].try_into().unwrap()
}

/// Whether a compact ES256 JWS carries a low-`s` signature (`s ≤ n/2`), computed here
/// independently of gatehouse: `s ≤ n − s`.
pub fn is_low_s(jws: &str) -> bool {
    let s = es256_s(jws);
    s <= n_minus(&s)
}

/// `n − x` for big-endian 256-bit `x < n`.
fn n_minus(x: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i32;
    for i in (0..32).rev() {
        let d = i32::from(P256_N[i]) - i32::from(x[i]) - borrow;
        borrow = i32::from(d < 0);
        out[i] = d.rem_euclid(256) as u8;
    }
    out
}

/// The same JWS with `s` replaced by `n − s`: a second signature of the same input by the same
/// key, which any plain ECDSA verifier accepts (SEC 1 §4.1.4).
pub fn es256_twin(jws: &str) -> String {
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let twin = n_minus(&signature[32..].try_into().unwrap());
    signature[32..].copy_from_slice(&twin);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Runs a `MemoryStore` future, which never waits, inside a request's own executor: what a
/// hook (`MemoryStore::before_rotation`, `before_exchange`) uses to land another request's
/// writes in the middle of one.
pub fn at_once<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("MemoryStore never waits"),
    }
}

/// A person's revocation of `grant`, as stored now.
pub fn revocation_of(
    store: &MemoryStore,
    grant: &gatehouse_core::grant_id::GrantId,
) -> gatehouse_core::revocation::Revocation {
    use gatehouse_core::store::GrantStore as _;
    let record = at_once(store.grant(grant)).unwrap().unwrap();
    gatehouse_core::revocation::Revocation::of(
        &record,
        gatehouse_core::store::RevocationReason::PersonRequest,
        gatehouse_core::time::UnixTime(0),
        None,
    )
}

/// Turns migration mode on (D1 read-only from now on).
pub fn migrate(world: &mut World) {
    world.config.migration = Some(gatehouse_core::migration::Migration {
        retry_after_secs: 120,
        access_token_ttl_secs: 4 * 3600,
    });
    world.store.d1_read_only.set(true);
}

/// Turns migration mode off.
pub fn end_migration(world: &mut World) {
    world.config.migration = None;
    world.store.d1_read_only.set(false);
}
