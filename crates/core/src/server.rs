//! The authorization server: one method per endpoint, each reading the clock once and returning
//! a typed outcome that the Worker turns into HTTP. Nothing here knows about HTTP types.

use crate::access_token::{self, VerifyError};
use crate::authorize::{self, AuthorizationRequest, AuthorizeError};
use crate::client_auth::{self, AuthError, AuthenticatedClient};
use crate::config::Config;
use crate::consent::{self, ConsentPrompt, Decision};
use crate::error::{OAuthError, Reason};
use crate::form::Form;
use crate::grant_id::GrantId;
use crate::grants::{self, TokenResponse};
use crate::introspection::Introspection;
use crate::login::{self, LoginOutcome};
use crate::migration::{self, Held, HeldWrite, Migration, Paused};
use crate::model::audit::{AuditEvent, AuditKind};
use crate::password::Pbkdf2;
use crate::registration::{self, MAX_REGISTRATIONS_PER_HOUR, Registered};
use crate::revocation::{self, Revocation};
use crate::rng::Rng;
use crate::session_cookie::SessionCookieKey;
use crate::signer::Signer;
use crate::site::Site;
use crate::store::{
    ClientSource, CodeRecord, ConsentRecord, GrantRecord, Person, RegistrationLimit,
    RevocationReason, Store, StoreError,
};
use crate::time::{Clock, UnixTime};
use crate::types::{ClientId, Scopes};

/// Authorization codes live this long (RFC 6749 §4.1.2: "A maximum authorization code lifetime
/// of 10 minutes is RECOMMENDED"; a client exchanges it within seconds).
pub const CODE_TTL_SECS: u64 = 60;

/// An endpoint's failure: a refusal the client can act on, or a storage outage.
#[derive(Debug)]
pub enum Failure {
    /// RFC 6749 §5.2 error response.
    OAuth {
        /// The error.
        error: OAuthError,
        /// The client authenticated with HTTP Basic: answer `WWW-Authenticate: Basic` (§5.2).
        basic_challenge: bool,
    },
    /// `503` + `Retry-After`.
    Store(StoreError),
    /// Migration mode: `503` + the operator's `Retry-After`.
    Paused(Paused),
}

impl From<Paused> for Failure {
    fn from(paused: Paused) -> Self {
        Self::Paused(paused)
    }
}

impl From<Reason> for Failure {
    fn from(reason: Reason) -> Self {
        Self::OAuth {
            error: OAuthError::from(reason),
            basic_challenge: false,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<AuthError> for Failure {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Refused { reason, used_basic } => Self::OAuth {
                error: OAuthError::from(reason),
                basic_challenge: used_basic,
            },
            AuthError::Store(e) => Self::Store(e),
        }
    }
}

/// What `GET /oauth/authorize` leads to.
#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Nobody is logged in: show the login form, then come back to `return_to`.
    Login(login::LoginPrompt),
    /// The person must approve this client.
    Consent(ConsentPrompt),
    /// Done: redirect the browser here (a code, or an error for the client).
    Redirect(String),
}

/// The server for one request.
pub struct Server<'a, S, K, R> {
    /// The configuration.
    pub config: &'a Config,
    /// The issuer and app served where the request arrived.
    pub site: Site<'a>,
    /// Storage.
    pub store: &'a S,
    /// Token signing keys.
    pub signer: &'a K,
    /// Randomness.
    pub rng: &'a R,
    /// The request's time, read once.
    pub now: UnixTime,
    /// Where the request came from (`CF-Connecting-IP`), for the audit log.
    pub source: Option<String>,
    /// What was decided about this request, for its log line ([`crate::decision`]).
    pub decision: crate::decision::DecisionLog,
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
        Self {
            config,
            site,
            store,
            signer,
            rng,
            now: clock.now(),
            source: None,
            decision: crate::decision::DecisionLog::default(),
        }
    }

    /// The same server, recording `source` as where requests came from.
    pub fn with_source(mut self, source: Option<String>) -> Self {
        self.source = source;
        self
    }

    /// Appends an audit event about this app.
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
        grant_id: Option<&GrantId>,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let event = self.audit_event(kind, subject, client_id, grant_id, detail);
        if self.migration().is_none() {
            return self.store.record(&event, self.now).await;
        }
        self.hold_audit(event).await
    }

    /// An audit event about this app, from where this request came.
    pub(crate) fn audit_event(
        &self,
        kind: AuditKind,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
        grant_id: Option<&GrantId>,
        detail: serde_json::Value,
    ) -> AuditEvent {
        self.decision.audit(
            kind,
            subject,
            client_id.map(ClientId::as_str),
            grant_id.map(GrantId::as_str),
        );
        AuditEvent {
            kind,
            subject: subject.map(str::to_owned),
            client_id: client_id.map(|c| c.as_str().to_owned()),
            app: Some(self.site.resource.clone()),
            grant_id: grant_id.map(|g| g.as_str().to_owned()),
            source: self.source.clone(),
            detail,
        }
    }

    /// Keeps an audit event in KV until the drain writes it (migration mode).
    pub(crate) async fn hold_audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        let mut id = [0u8; 16];
        self.rng.fill(&mut id);
        let held = HeldWrite::Audit {
            id: crate::crypto::hex(&id),
            event,
            at: self.now,
        };
        self.store.hold(&Held::new(held)).await
    }

    /// Migration mode's settings, while it is on.
    pub fn migration(&self) -> Option<Migration> {
        self.config.migration
    }

    /// Refuses a write that can wait while migration mode is on.
    pub(crate) fn writable(&self) -> Result<(), Paused> {
        match self.migration() {
            Some(m) => Err(Paused {
                retry_after_secs: m.retry_after_secs,
            }),
            None => Ok(()),
        }
    }

    /// Writes to D1 now, or, while migration mode is on, holds the write in KV for the drain.
    pub(crate) async fn write_or_hold(&self, write: HeldWrite) -> Result<(), StoreError> {
        if self.migration().is_some() {
            self.store.hold(&Held::new(write)).await
        } else {
            migration::apply(self.store, &write, self.now).await
        }
    }

    /// `POST /oauth/register` (RFC 7591 §3). `source` names the caller's network for the rate
    /// limit.
    pub async fn register(&self, body: &[u8], source: &str) -> Result<Registered, Failure> {
        self.writable()?;
        let metadata = registration::validate(body).map_err(|e| Failure::OAuth {
            error: OAuthError::from(e.reason),
            basic_challenge: false,
        })?;
        let ids = &self.config.identifiers.client_ids;
        let registered = registration::register(metadata, ids, self.rng, self.now);
        let name = serde_json::json!({ "client_name": registered.record.metadata.client_name });
        let event = self.audit_event(
            AuditKind::ClientRegistered,
            None,
            Some(&registered.record.client_id),
            None,
            name,
        );
        let limit = RegistrationLimit {
            max: MAX_REGISTRATIONS_PER_HOUR,
            since: UnixTime(self.now.0.saturating_sub(3600)),
        };
        let stored = self
            .store
            .insert_client(&registered.record, source, &event, limit)
            .await?;
        if !stored {
            return Err(Reason::RegistrationRateLimited.into());
        }
        Ok(registered)
    }

    /// `GET /oauth/authorize` (RFC 6749 §4.1.1). `session` is the raw session cookie, if any.
    pub async fn authorize(
        &self,
        query: &str,
        session: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        self.writable()?;
        let request = authorize::check(
            &self.site,
            self.store,
            self.config.client_lookup(),
            query,
            self.now,
        )
        .await?;
        let Some(person) = self.person(session).await.map_err(AuthorizeError::Store)? else {
            return Ok(AuthorizeOutcome::Login(login::LoginPrompt::new(
                self.config,
                &self.site,
                &request,
                query,
            )));
        };
        if !self.site.app.policy.admits_person(&person) {
            return Err(self.refuse(&request, Reason::PolicyDenied));
        }
        let consented = self
            .store
            .consent(
                &person.subject,
                &request.client.client_id,
                &self.site.resource,
            )
            .await
            .map_err(AuthorizeError::Store)?;
        if consent::remembered(consented.as_ref(), &request) {
            return self
                .complete(request, &person)
                .await
                .map(AuthorizeOutcome::Redirect);
        }
        Ok(AuthorizeOutcome::Consent(ConsentPrompt::new(
            &self.site, &request, &person, query,
        )))
    }

    /// `POST` of the login form: checks the password and opens a session.
    pub async fn login(
        &self,
        body: &[u8],
        csrf_cookie: Option<&str>,
        kdf: &impl Pbkdf2,
    ) -> Result<LoginOutcome, StoreError> {
        if let Err(paused) = self.writable() {
            return Ok(LoginOutcome::Paused(paused));
        }
        login::submit(self, body, csrf_cookie, kdf).await
    }

    /// `POST` of the consent form: the person's decision on a pending authorization request.
    pub async fn consent(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        self.writable()?;
        let submitted =
            consent::Submitted::parse(body, csrf_cookie).map_err(AuthorizeError::Render)?;
        let request = authorize::check(
            &self.site,
            self.store,
            self.config.client_lookup(),
            &submitted.request,
            self.now,
        )
        .await?;
        let Some(person) = self.person(session).await.map_err(AuthorizeError::Store)? else {
            return Ok(AuthorizeOutcome::Login(login::LoginPrompt::new(
                self.config,
                &self.site,
                &request,
                &submitted.request,
            )));
        };
        if submitted.decision == Decision::Deny {
            return Err(self.refuse(&request, Reason::ConsentDenied));
        }
        if !self.site.app.policy.admits_person(&person) {
            return Err(self.refuse(&request, Reason::PolicyDenied));
        }
        // Consents and grants name their client in D1: a metadata document client gets its
        // row (or its metadata refreshed) when a person first approves it.
        if request.client.source == ClientSource::MetadataDocument {
            self.store
                .remember_document_client(&request.client, self.now)
                .await
                .map_err(AuthorizeError::Store)?;
        }
        let approved = Some(request.redirect.as_str());
        self.remember_consent(
            &person,
            &request.client.client_id,
            &request.scopes,
            approved,
        )
        .await
        .map_err(AuthorizeError::Store)?;
        self.complete(request, &person)
            .await
            .map(AuthorizeOutcome::Redirect)
    }

    /// `POST /oauth/token` (RFC 6749 §3.2).
    pub async fn token(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<TokenResponse, Failure> {
        let (form, client) = self.authenticate_client(body, authorization).await?;
        match form.require("grant_type")? {
            "authorization_code" => {
                self.writable()?;
                grants::authorization_code::exchange(self, &client, &form, self.now).await
            }
            "refresh_token" => grants::refresh_token::rotate(self, &client, &form, self.now).await,
            grants::device_code::GRANT_TYPE => {
                // Polls record their time (RFC 8628 §3.5 slow_down) and redemption writes.
                self.writable()?;
                grants::device_code::redeem(self, &client, &form, self.now).await
            }
            _ => Err(Reason::GrantTypeUnsupported.into()),
        }
    }

    /// `POST /oauth/revoke` (RFC 7009 §2). Revoking either token revokes the grant, and with it
    /// every token issued under it. Unknown tokens, and tokens of other clients, are answered
    /// like revoked ones (§2.2) and left alone.
    pub async fn revoke(&self, body: &[u8], authorization: Option<&str>) -> Result<(), Failure> {
        let (form, client) = self.authenticate_client(body, authorization).await?;
        let token = form.require("token")?;
        if let Some(grant) = self.grant_of_token(token, &client).await? {
            self.revoke_grant_record(&grant, RevocationReason::ClientRequest)
                .await?;
        }
        Ok(())
    }

    /// `POST /oauth/introspect` (RFC 7662 §2). Only confidential clients may ask, and only about
    /// their own tokens: anything else is `{"active": false}` (§2.2).
    pub async fn introspect(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<Introspection, Failure> {
        let (form, client) = self.authenticate_client(body, authorization).await?;
        if !client
            .record()
            .metadata
            .token_endpoint_auth_method
            .is_confidential()
        {
            return Err(Reason::IntrospectionNeedsConfidentialClient.into());
        }
        let token = form.require("token")?;
        let Some(grant) = self.grant_of_token(token, &client).await? else {
            return Ok(Introspection::inactive());
        };
        if grant.revoked_at.is_some() || !self.site.app.policy.admits_person(&grant.person) {
            return Ok(Introspection::inactive());
        }
        Ok(
            match access_token::verify(self.signer, token, &self.site.issuer, self.now).await {
                Ok(claims) => Introspection::of_access_token(claims),
                Err(_) => Introspection::of_refresh_token(&grant, &self.site.issuer),
            },
        )
    }

    /// The grant behind a token presented by `client`: a live refresh token or a valid access
    /// token, issued to that client. `None` for anything else.
    async fn grant_of_token(
        &self,
        token: &str,
        client: &AuthenticatedClient,
    ) -> Result<Option<GrantRecord>, StoreError> {
        // Only a token gatehouse tagged can be a refresh token; anything else is looked up
        // as an access token (a JWT, which has no tag). An unknown token is answered like a
        // revoked one (RFC 7009 §2.2, RFC 7662 §2.2).
        let refresh = match self.config.identifiers.refresh_token(token) {
            Some(refresh) => self.store.refresh(&refresh.hash()).await?,
            None => None,
        };
        let grant_id = match refresh {
            Some(record) => {
                let live = record.rotated_at.is_none() && self.now < record.expires_at;
                let grant = self.store.grant(&record.grant_id).await?;
                // A refresh token that its grant's revocation rotated still names the grant:
                // revoking it again finishes a revocation a crash cut short.
                return Ok(grant.filter(|g| {
                    (live || g.revoked_at.is_some())
                        && &g.client_id == client.id()
                        && g.app == self.site.resource
                }));
            }
            None => {
                match access_token::verify(self.signer, token, &self.site.issuer, self.now).await {
                    Ok(claims) => GrantId::from_stored(claims.grant_id),
                    Err(VerifyError::Invalid(_)) => return Ok(None),
                    Err(VerifyError::Store(e)) => return Err(e),
                }
            }
        };
        let grant = self.store.grant(&grant_id).await?;
        // Only this client's grants, and only for the app served here.
        Ok(grant.filter(|g| &g.client_id == client.id() && g.app == self.site.resource))
    }

    /// The key that tags this deployment's session cookies.
    pub(crate) fn session_cookie_key(&self) -> SessionCookieKey {
        SessionCookieKey::derive(&self.config.secret)
    }

    /// `GET /cdn-cgi/access/get-identity` of an app with `"identity": "cloudflare-access"`:
    /// the person of a live browser session whom the app's policy admits, as Access answers
    /// it; `None` otherwise (and for agents, whose bearer tokens are not sessions).
    pub async fn access_identity(
        &self,
        session: Option<&str>,
        country: Option<String>,
    ) -> Result<Option<crate::gatekeeper::access::IdentityDocument>, StoreError> {
        let Some(person) = self.person(session).await? else {
            return Ok(None);
        };
        if !self.site.app.policy.admits_person(&person) {
            return Ok(None);
        }
        Ok(Some(crate::gatekeeper::access::IdentityDocument::new(
            &person, country, self.now,
        )))
    }

    /// The person logged in with this session cookie, if the session is live, for this app, and
    /// used within [`login::SESSION_IDLE_SECS`]. Use is recorded at most once a minute.
    pub async fn person(&self, session: Option<&str>) -> Result<Option<Person>, StoreError> {
        // A value gatehouse did not issue is refused before storage is asked (session_cookie).
        let Some(session) = session.and_then(|raw| self.session_cookie_key().open(raw)) else {
            return Ok(None);
        };
        let hash = session.hash();
        let Some(record) = self.store.session(&hash, self.now).await? else {
            return Ok(None);
        };
        if record.app != self.site.resource
            || self.now.since(record.last_seen_at) >= login::SESSION_IDLE_SECS
        {
            return Ok(None);
        }
        if self.migration().is_some() {
            // Logouts and cut-offs of the migration wait in KV; D1 does not know them yet.
            let ended = self
                .store
                .is_held(&migration::end_session_key(&hash))
                .await?
                || self
                    .store
                    .is_held(&migration::end_sessions_key(&record.person.subject))
                    .await?;
            return Ok((!ended).then_some(record.person));
        }
        if self.now.since(record.last_seen_at) >= login::SESSION_TOUCH_SECS {
            self.store.touch_session(&hash, self.now).await?;
        }
        Ok(Some(record.person))
    }

    /// `POST /.gatehouse/logout`: ends the session. CSRF-protected, so a cross-site page cannot
    /// log a person out.
    pub async fn logout(
        &self,
        body: &[u8],
        session: Option<&str>,
        csrf_cookie: Option<&str>,
    ) -> Result<(), Failure> {
        let form = Form::parse(body)?;
        crate::csrf::verify(csrf_cookie, form.get(crate::csrf::FIELD)?)?;
        if let Some(session) = session.and_then(|raw| self.session_cookie_key().open(raw)) {
            let session_hash = session.hash();
            self.write_or_hold(HeldWrite::EndSession {
                session_hash: session_hash.as_hex().to_owned(),
                at: self.now,
            })
            .await?;
        }
        Ok(())
    }

    /// Revokes a grant: every step of [`crate::revocation`], the deny entry first, and the same
    /// command on the Queue. A grant already revoked whose revocation a crash cut short is
    /// finished the same way, so that every path that meets it repairs it and answers as if it
    /// had done the work; a settled one is left alone.
    pub(crate) async fn revoke_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
    ) -> Result<(), StoreError> {
        // Storage that cannot be read still takes the deny entry and the Queue message; the
        // consumer reads the grant's details when it can.
        match self.store.grant(grant_id).await.ok().flatten() {
            Some(grant) => self.revoke_grant_record(&grant, reason).await,
            None => {
                let revocation =
                    Revocation::of_unread(grant_id, reason, self.now, self.source.clone());
                revocation::revoke(
                    self.store,
                    &revocation,
                    self.now,
                    self.migration().is_some(),
                )
                .await
            }
        }
    }

    /// [`Self::revoke_grant`] of a grant already read. One revoked before keeps its time and
    /// reason.
    pub(crate) async fn revoke_grant_record(
        &self,
        grant: &GrantRecord,
        reason: RevocationReason,
    ) -> Result<(), StoreError> {
        if grant.revocation_settled_at.is_some() {
            return Ok(());
        }
        let reason = grant.revoked_reason.unwrap_or(reason);
        let revocation = Revocation::of(grant, reason, self.now, self.source.clone());
        revocation::revoke(
            self.store,
            &revocation,
            self.now,
            self.migration().is_some(),
        )
        .await
    }

    /// Issues the code for an approved request: a new grant, a code bound to the request, and
    /// the redirect carrying it.
    async fn complete(
        &self,
        request: AuthorizationRequest,
        person: &Person,
    ) -> Result<String, AuthorizeError> {
        let code = self.config.identifiers.issue_code(self.rng);
        let stored = async {
            let grant = self
                .create_grant(
                    person,
                    &request.client.client_id,
                    &request.resource,
                    &request.scopes,
                    request.redirect.as_str(),
                )
                .await?;
            let record = CodeRecord {
                code_hash: code.hash(),
                grant_id: grant.grant_id,
                client_id: request.client.client_id.clone(),
                redirect_uri: request.redirect.as_str().to_owned(),
                code_challenge: request.code_challenge.as_str().to_owned(),
                resource: request.resource.clone(),
                scopes: request.scopes.clone(),
                expires_at: self.now.plus(CODE_TTL_SECS),
            };
            self.store.insert_code(&record, self.now).await
        };
        stored.await.map_err(AuthorizeError::Store)?;
        Ok(request.redirect.with_code(
            code.expose_secret(),
            request.state.as_ref(),
            &self.site.issuer,
        ))
    }

    /// Records that `person` approved `client_id` for `scopes` at this app, for a request with
    /// `redirect_uri` (`None` for the device grant). Consent only widens: approving `write`
    /// keeps an earlier `read`. The redirect URI is the latest approved one; a device approval
    /// keeps the one on record.
    pub(crate) async fn remember_consent(
        &self,
        person: &Person,
        client_id: &ClientId,
        scopes: &Scopes,
        redirect_uri: Option<&str>,
    ) -> Result<(), StoreError> {
        let earlier = self
            .store
            .consent(&person.subject, client_id, &self.site.resource)
            .await?;
        let consent = ConsentRecord {
            scopes: earlier
                .as_ref()
                .map_or_else(|| scopes.clone(), |e| e.scopes.union(scopes)),
            redirect_uri: redirect_uri
                .map(str::to_owned)
                .or_else(|| earlier.and_then(|e| e.redirect_uri)),
        };
        self.store
            .put_consent(
                &person.subject,
                client_id,
                &self.site.resource,
                &consent,
                self.now,
            )
            .await
    }

    /// A new grant: `person` lets `client_id` act at `app` with `scopes`; the client stops
    /// lapsing and the grant is audited. `redirect_uri` tells installations apart (empty for a
    /// device, which has none).
    pub(crate) async fn create_grant(
        &self,
        person: &Person,
        client_id: &ClientId,
        app: &str,
        scopes: &Scopes,
        redirect_uri: &str,
    ) -> Result<GrantRecord, StoreError> {
        let grant = GrantRecord {
            grant_id: GrantId::issue(self.rng),
            person: person.clone(),
            client_id: client_id.clone(),
            app: app.to_owned(),
            scopes: scopes.clone(),
            redirect_uri: redirect_uri.to_owned(),
            created_at: self.now,
            revoked_at: None,
            revoked_reason: None,
            revocation_settled_at: None,
        };
        self.store.insert_grant(&grant).await?;
        self.store.mark_client_used(client_id, self.now).await?;
        let detail = serde_json::json!({ "scope": grant.scopes.to_string() });
        self.audit(
            AuditKind::GrantCreated,
            Some(&person.subject),
            Some(&grant.client_id),
            Some(&grant.grant_id),
            detail,
        )
        .await?;
        Ok(grant)
    }

    /// What a client assertion's `aud` may name (RFC 7523 §3 item 3): the token endpoint URL
    /// or the issuer.
    pub(crate) fn client_assertion_audiences(&self) -> [String; 2] {
        [
            format!(
                "{}{}",
                self.site.origin,
                self.site.path(crate::paths::TOKEN)
            ),
            self.site.issuer.clone(),
        ]
    }

    /// Reads a client's form request and authenticates the client (RFC 6749 §2.3, §3.2), as
    /// the token, revocation, introspection and device authorization endpoints all do.
    pub(crate) async fn authenticate_client(
        &self,
        body: &[u8],
        authorization: Option<&str>,
    ) -> Result<(Form, AuthenticatedClient), Failure> {
        let form = Form::parse(body)?;
        let audiences = self.client_assertion_audiences();
        let verification = self.client_verification(&audiences);
        let client =
            client_auth::authenticate(self.store, &verification, &form, authorization, self.now)
                .await?;
        // Every later refusal of this request is this agent's (the decision's log line).
        self.decision.client(client.id().as_str());
        Ok((form, client))
    }

    /// What client credentials are checked against.
    pub(crate) fn client_verification<'v>(
        &'v self,
        audiences: &'v [String],
    ) -> client_auth::Verification<'v, K> {
        client_auth::Verification {
            signer: self.signer,
            lookup: self.config.client_lookup(),
            audiences,
        }
    }

    /// An error sent back to the client's redirect URI.
    fn refuse(&self, request: &AuthorizationRequest, reason: Reason) -> AuthorizeError {
        AuthorizeError::Redirect {
            to: request.redirect.clone(),
            state: request.state.clone(),
            error: OAuthError::from(reason),
        }
    }

    /// A grant that exists and is not revoked. A revoked one is refused, and its revocation
    /// finished if a crash cut it short.
    pub(crate) async fn live_grant(&self, grant_id: &GrantId) -> Result<GrantRecord, Failure> {
        self.live(self.store.grant(grant_id).await?).await
    }

    /// The grant, if it exists and is not revoked: tokens are issued only under a live grant.
    ///
    /// D1 is not the only witness: the denylist and the held writes know revocations D1 does
    /// not have yet (migration mode, an outage, a crash after the deny entry), and a held
    /// revocation outlives its deny entry however long D1 lags. A revoked grant is refused, and
    /// its revocation finished when nothing else will finish it: not settled in D1, or denied
    /// but neither in D1 nor held.
    pub(crate) async fn live(&self, grant: Option<GrantRecord>) -> Result<GrantRecord, Failure> {
        let Some(grant) = grant else {
            return Err(Reason::GrantRevoked.into());
        };
        if grant.revoked_at.is_some() {
            // The stored reason is kept; this one is not used.
            self.revoke_grant_record(&grant, RevocationReason::ClientRequest)
                .await?;
            return Err(Reason::GrantRevoked.into());
        }
        let held = self
            .store
            .is_held(&migration::revoke_grant_key(&grant.grant_id))
            .await?;
        if held {
            return Err(Reason::GrantRevoked.into());
        }
        if let Some(reason) = self.store.denial(&grant.grant_id).await? {
            self.revoke_grant_record(&grant, reason).await?;
            return Err(Reason::GrantRevoked.into());
        }
        Ok(grant)
    }

    /// The app's policy, checked again whenever tokens are issued: the grant of a person the
    /// policy no longer admits is revoked, so that admitting them again later does not revive
    /// it (a new grant needs their consent again).
    pub(crate) async fn enforce_policy(&self, grant: &GrantRecord) -> Result<(), Failure> {
        if self.site.app.policy.admits_person(&grant.person) {
            return Ok(());
        }
        self.revoke_grant_record(grant, RevocationReason::PolicyChanged)
            .await?;
        Err(Reason::PolicyNoLongerAdmits.into())
    }
}
