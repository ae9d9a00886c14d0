//! The authorization server's dispatcher: it builds one request's [`Context`] from the
//! configuration, refuses the writes that wait while migration mode is on
//! ([`MigrationStore::writable`]), and hands each endpoint to its feature, passing the settings
//! only that feature reads. It decides nothing else. Nothing here knows about HTTP types.

use crate::admin::{
    AdminAuditEvent, AdminCredentials, AdminGrant, Admins, Revoked, audit::AuditAnswer,
    clients::ConsoleClients, console::ConsoleGrants, people::ConsolePeople, state::ConsoleState,
};
use crate::agents::AgentsView;
use crate::authorize::AuthorizeError;
use crate::client_auth::Claimed;
use crate::config::Config;
use crate::context::Context;
use crate::device::{DeviceAuthorizationResponse, verification::DevicePage};
use crate::error::Reason;
use crate::form::Form;
use crate::gatekeeper::{Gate, GateRequest, TokenVerifier, access::IdentityDocument};
use crate::grants::{self, TokenResponse};
use crate::health::Depth;
use crate::introspection::Introspection;
use crate::jose::signer::Signer;
use crate::login::{self, LoginOutcome};
use crate::migration::{Held, MigrationStore};
use crate::oidc::upstream::Upstream;
use crate::oidc::{OidcFailure, OidcStart};
use crate::password::Pbkdf2;
use crate::registration::Registered;
use crate::rng::Rng;
use crate::site::Site;
use crate::store::{Person, Store, StoreError};
use crate::time::Clock;

pub use crate::authorize::flow::{AuthorizeOutcome, CODE_TTL_SECS};
pub use crate::failure::Failure;

/// The server for one request: the configuration, and the context its features work in
/// (read through [`std::ops::Deref`]: `server.site`, `server.now`, …).
pub struct Server<'a, S, K, R> {
    /// The configuration.
    pub config: &'a Config,
    cx: Context<'a, S, K, R>,
}

impl<'a, S, K, R> std::ops::Deref for Server<'a, S, K, R> {
    type Target = Context<'a, S, K, R>;

    fn deref(&self) -> &Self::Target {
        &self.cx
    }
}

impl<'a, S: Store, K: Signer, R: Rng> Server<'a, S, K, R> {
    /// A server for one request.
    pub fn new(
        config: &'a Config,
        site: Site<'a>,
        store: &'a S,
        signer: &'a K,
        rng: &'a R,
        clock: &impl Clock,
    ) -> Self {
        let cx = Context {
            site,
            store: MigrationStore::new(store, config.migration),
            signer,
            rng,
            now: clock.now(),
            source: None,
            decision: crate::decision::DecisionLog::default(),
            secret: &config.secret,
            identifiers: &config.identifiers,
            lookup: config.client_lookup(),
        };
        Self { config, cx }
    }

    /// The same server, recording `source` as where requests came from.
    pub fn with_source(mut self, source: Option<String>) -> Self {
        self.cx.source = source;
        self
    }

    /// How people log in here: local accounts and upstream providers.
    pub fn login_methods(&self) -> login::Methods<'a> {
        login::Methods::from(self.config)
    }

    fn admins(&self) -> Admins<'a> {
        Admins {
            token: self.config.admin_token.as_ref(),
            people: self.config.admins.as_ref(),
        }
    }

    /// `POST /oauth/register` (RFC 7591 §3). `source` names the caller's network for the rate
    /// limit.
    pub async fn register(&self, body: &[u8], source: &str) -> Result<Registered, Failure> {
        self.store.writable()?;
        crate::registration::endpoint::register_client(&self.cx, body, source).await
    }

    /// `GET /oauth/authorize` (RFC 6749 §4.1.1). `session` is the raw session cookie, if any.
    pub async fn authorize(
        &self,
        query: &str,
        session: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        self.store.writable()?;
        crate::authorize::flow::authorize(&self.cx, self.login_methods(), query, session).await
    }

    /// `POST` of the login form: checks the password and opens a session.
    pub async fn login(
        &self,
        body: &[u8],
        csrf_cookie: Option<&str>,
        kdf: &impl Pbkdf2,
    ) -> Result<LoginOutcome, StoreError> {
        if let Err(paused) = self.store.writable() {
            return Ok(LoginOutcome::Paused(paused));
        }
        login::submit(&self.cx, self.login_methods(), body, csrf_cookie, kdf).await
    }

    /// `POST` of the consent form: the person's decision on a pending authorization request.
    pub async fn consent(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        self.store.writable()?;
        crate::authorize::flow::consent(&self.cx, self.login_methods(), body, session, csrf_cookie)
            .await
    }

    /// `POST /oauth/token` (RFC 6749 §3.2).
    pub async fn token(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<TokenResponse, Failure> {
        let cx = &self.cx;
        // A refresh, and a code exchange, may authenticate its client in its own transaction
        // (one round trip); an exchange only while storage takes writes, so that the client is
        // authenticated before a pause is answered, as for every other grant.
        let is_refresh = |form: &Form| form.get("grant_type") == Ok(Some("refresh_token"));
        let is_code = |form: &Form| form.get("grant_type") == Ok(Some("authorization_code"));
        let deferrable =
            |form: &Form| is_refresh(form) || (is_code(form) && self.store.writable().is_ok());
        let (form, claimed) =
            crate::client_auth::request::claim_request(cx, body, authorization, deferrable).await?;
        let client = match claimed {
            claimed if is_refresh(&form) => {
                return grants::refresh_token::rotate(cx, claimed, &form, self.now).await;
            }
            claimed @ Claimed::Deferred(_) if is_code(&form) => {
                return grants::authorization_code::exchange(cx, claimed, &form, self.now).await;
            }
            Claimed::Authenticated(client) => client,
            Claimed::Deferred(deferred) => {
                crate::client_auth::request::authenticate_deferred(cx, deferred).await?
            }
        };
        match form.require("grant_type")? {
            "authorization_code" => {
                self.store.writable()?;
                let claimed = Claimed::Authenticated(client);
                grants::authorization_code::exchange(cx, claimed, &form, self.now).await
            }
            grants::device_code::GRANT_TYPE => {
                // Polls record their time (RFC 8628 §3.5 slow_down) and redemption writes.
                self.store.writable()?;
                grants::device_code::redeem(cx, &client, &form, self.now).await
            }
            _ => Err(Reason::GrantTypeUnsupported.into()),
        }
    }

    /// `POST /oauth/revoke` (RFC 7009 §2). What the answer leaves to do is returned, for the
    /// caller to run after answering ([`crate::revocation::Pending::finish`]).
    pub async fn revoke(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<crate::revocation::Pending, Failure> {
        // A refresh token that one transaction revokes may have its client authenticated by
        // that transaction (one round trip before the answer).
        let deferrable =
            |form: &Form| crate::grants::live::revocable_in_one(&self.cx, form).is_some();
        let (form, claimed) =
            crate::client_auth::request::claim_request(&self.cx, body, authorization, deferrable)
                .await?;
        crate::grants::live::revoke_token(&self.cx, &form, claimed).await
    }

    /// `POST /oauth/introspect` (RFC 7662 §2).
    pub async fn introspect(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<Introspection, Failure> {
        let (form, client) =
            crate::client_auth::request::authenticate_request(&self.cx, body, authorization)
                .await?;
        crate::introspection::introspect(&self.cx, &form, &client).await
    }

    /// `GET /cdn-cgi/access/get-identity` of an app with `"identity": "cloudflare-access"`.
    pub async fn access_identity(
        &self,
        session: Option<&str>,
        country: Option<String>,
    ) -> Result<Option<IdentityDocument>, StoreError> {
        crate::gatekeeper::access::identity(&self.cx, session, country).await
    }

    /// The person logged in with this session cookie, if the session is live ([`login::person`]).
    pub async fn person(&self, session: Option<&str>) -> Result<Option<Person>, StoreError> {
        login::person(&self.cx, session).await
    }

    /// `POST /.gatehouse/logout`: ends the session.
    pub async fn logout(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<(), Failure> {
        login::logout(&self.cx, body, session, csrf_cookie).await
    }

    /// `POST /oauth/device_authorization` (RFC 8628 §3.1).
    pub async fn device_authorization(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<DeviceAuthorizationResponse, Failure> {
        self.store.writable()?;
        crate::device::device_authorization(&self.cx, body, authorization).await
    }

    /// `GET /.gatehouse/device` (RFC 8628 §3.3).
    pub async fn device_page(
        &self,
        query: &str,
        session: Option<&str>,
    ) -> Result<DevicePage, StoreError> {
        crate::device::verification::device_page(&self.cx, query, session).await
    }

    /// `POST /.gatehouse/device`: a typed code or a decision on it.
    pub async fn device_submit(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<DevicePage, StoreError> {
        if let Err(paused) = self.store.writable() {
            return Ok(DevicePage::Paused(paused));
        }
        crate::device::verification::device_submit(&self.cx, body, session, csrf_cookie).await
    }

    /// `POST /.gatehouse/oidc/start` (the login page's provider button).
    pub async fn oidc_start(
        &self,
        body: &[u8],
        csrf_cookie: Option<&str>,
        binding_cookie: Option<&str>,
        upstream: &impl Upstream,
    ) -> Result<OidcStart, OidcFailure> {
        let form = Form::parse(body)?;
        let (provider_id, return_to) = crate::oidc::flow::start_form(&form, csrf_cookie)?;
        self.oidc_begin(provider_id, return_to, binding_cookie, upstream)
            .await
    }

    /// Starts a login at `provider_id` that comes back to `return_to` (Core §3.1.2.1).
    pub async fn oidc_begin(
        &self,
        provider_id: &str,
        return_to: &str,
        binding_cookie: Option<&str>,
        upstream: &impl Upstream,
    ) -> Result<OidcStart, OidcFailure> {
        self.store.writable()?;
        let providers = &self.config.oidc_providers;
        crate::oidc::flow::oidc_begin(
            &self.cx,
            providers,
            provider_id,
            return_to,
            binding_cookie,
            upstream,
        )
        .await
    }

    /// `GET /.gatehouse/oidc/callback` (Core §3.1.2.5).
    pub async fn oidc_callback(
        &self,
        query: &str,
        binding_cookie: Option<&str>,
        upstream: &impl Upstream,
    ) -> Result<LoginOutcome, OidcFailure> {
        self.store.writable()?;
        let providers = &self.config.oidc_providers;
        crate::oidc::flow::oidc_callback(&self.cx, providers, query, binding_cookie, upstream).await
    }

    /// The redirect URI registered at the providers for this app.
    pub fn oidc_redirect_uri(&self) -> String {
        crate::oidc::flow::oidc_redirect_uri(&self.site)
    }

    /// The gatekeeper's decision on a request to the app (RFC 6750).
    pub async fn gate(
        &self,
        req: &GateRequest<'_>,
        verifier: &impl TokenVerifier,
    ) -> Result<Gate, StoreError> {
        crate::gatekeeper::gate(&self.cx, req, verifier).await
    }

    /// The connected-agents page of the person logged in.
    pub async fn connected_agents(
        &self,
        session: Option<&str>,
    ) -> Result<Option<AgentsView>, StoreError> {
        crate::agents::connected_agents(&self.cx, session).await
    }

    /// The person revokes one of their agents.
    pub async fn revoke_agent(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<(), Failure> {
        crate::agents::revoke_agent(&self.cx, body, session, csrf_cookie).await
    }

    /// How deep a health check may look.
    pub async fn health_depth(&self, credentials: &AdminCredentials<'_>) -> Result<Depth, Failure> {
        crate::health::health_depth(&self.cx, self.admins(), credentials).await
    }

    /// Admin API: grants.
    pub async fn admin_grants(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<Vec<AdminGrant>, Failure> {
        crate::admin::admin_grants(&self.cx, self.admins(), credentials, query).await
    }

    /// Admin API: revoke.
    pub async fn admin_revoke(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<Revoked, Failure> {
        crate::admin::admin_revoke(&self.cx, self.admins(), credentials, body).await
    }

    /// Admin API: disable a client.
    pub async fn admin_disable_client(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<Revoked, Failure> {
        crate::admin::admin_disable_client(&self.cx, self.admins(), credentials, body).await
    }

    /// Admin API: the audit log.
    pub async fn admin_audit(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<Vec<AdminAuditEvent>, Failure> {
        crate::admin::admin_audit(&self.cx, self.admins(), credentials, query).await
    }

    /// Admin API: held writes.
    pub async fn admin_held(
        &self,
        credentials: &AdminCredentials<'_>,
    ) -> Result<Vec<Held>, Failure> {
        crate::admin::admin_held(&self.cx, self.admins(), credentials).await
    }

    /// Console: the audit page.
    pub async fn console_audit(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<AuditAnswer, Failure> {
        crate::admin::audit::console_audit(&self.cx, self.admins(), credentials, query).await
    }

    /// Console: the clients page.
    pub async fn console_clients(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<ConsoleClients, Failure> {
        crate::admin::clients::console_clients(&self.cx, self.admins(), credentials, query).await
    }

    /// Console: disable a client.
    pub async fn console_disable_client(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<String, Failure> {
        crate::admin::clients::console_disable_client(&self.cx, self.admins(), credentials, body)
            .await
    }

    /// Console: enable a client.
    pub async fn console_enable_client(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<String, Failure> {
        crate::admin::clients::console_enable_client(&self.cx, self.admins(), credentials, body)
            .await
    }

    /// Console: the grants page.
    pub async fn console_grants(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<ConsoleGrants, Failure> {
        crate::admin::console::console_grants(&self.cx, self.admins(), credentials, query).await
    }

    /// Console: revoke grants.
    pub async fn console_revoke(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<(Revoked, String), Failure> {
        crate::admin::console::console_revoke(&self.cx, self.admins(), credentials, body).await
    }

    /// Console: the people page.
    pub async fn console_people(
        &self,
        credentials: &AdminCredentials<'_>,
        query: &str,
    ) -> Result<ConsolePeople, Failure> {
        crate::admin::people::console_people(&self.cx, self.admins(), credentials, query).await
    }

    /// Console: cut a person off.
    pub async fn console_revoke_person(
        &self,
        credentials: &AdminCredentials<'_>,
        body: &[u8],
    ) -> Result<String, Failure> {
        crate::admin::people::console_revoke_person(&self.cx, self.admins(), credentials, body)
            .await
    }

    /// Console: the state page.
    pub async fn console_state(
        &self,
        credentials: &AdminCredentials<'_>,
    ) -> Result<ConsoleState, Failure> {
        crate::admin::state::console_state(&self.cx, self.admins(), credentials).await
    }
}
