//! Storage as the protocol needs it: one trait per concern, each stating the atomicity it must
//! provide, and the records they hold. The Worker implements them on D1; native tests use
//! `testing::MemoryStore`, which enforces the same rules.
//!
//! Secrets reach storage only as [`SecretHash`]es: a raw code, refresh token, client secret or
//! session id cannot be written by mistake, because no method accepts one.

use crate::grant_id::GrantId;
use crate::registration::ClientMetadata;
use crate::secret::SecretHash;
use crate::time::UnixTime;
use crate::types::{ClientId, Scopes};

/// A storage failure. The message is for the operator's log; clients see `temporarily_unavailable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a client came to be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientSource {
    /// Registered through `POST /oauth/register` (RFC 7591).
    Dynamic,
    /// Described by the Client ID Metadata Document at its `client_id` URL (`crate::cimd`).
    MetadataDocument,
}

impl ClientSource {
    /// The value stored in `clients.source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's identifier.
    pub client_id: ClientId,
    /// The hash of its secret; `None` for a public client.
    pub secret_hash: Option<SecretHash>,
    /// The validated metadata it registered.
    pub metadata: ClientMetadata,
    /// How it came to be known.
    pub source: ClientSource,
    /// When it was registered.
    pub created_at: UnixTime,
    /// When an unused registration lapses; `None` once it has been used.
    pub expires_at: Option<UnixTime>,
}

/// At most `max` registrations from one network since `since`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistrationLimit {
    /// Registrations allowed in the window.
    pub max: u64,
    /// The start of the window.
    pub since: UnixTime,
}

/// Clients (RFC 7591 registrations).
#[allow(async_fn_in_trait)] // Worker futures are !Send (one event loop); Send is never needed.
pub trait ClientStore {
    /// Stores a new client, recording the network it registered from, and the audit event of
    /// its registration, in one round trip, unless that network has already registered
    /// `limit.max` clients since `limit.since`. Counting and inserting are one atomic step, so
    /// racing registrations cannot exceed the limit. Returns whether the client was stored.
    async fn insert_client(
        &self,
        client: &ClientRecord,
        registered_from: &str,
        event: &crate::audit::AuditEvent,
        limit: RegistrationLimit,
    ) -> Result<bool, StoreError>;
    /// The client, unless unknown, disabled or lapsed at `now`.
    async fn client(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<Option<ClientRecord>, StoreError>;
    /// Whether a client whose id carries no tag ([`crate::tag::is_tagged`] is false; not a URL)
    /// may exist: one registered before client ids were tagged, or one the operator inserted
    /// (`source = 'static'`). Only when it may is the client looked up ([`crate::identifiers`]).
    /// A `true` need not be exact; a `false` must be, except that an id added in the last
    /// second may be missed. The Worker answers from a per-isolate list of such ids, read again
    /// at most once a second, so that made-up ids cost no round trip each.
    async fn untagged_client_may_exist(
        &self,
        client_id: &ClientId,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Marks the client used: it no longer lapses.
    async fn mark_client_used(&self, client_id: &ClientId, now: UnixTime)
    -> Result<(), StoreError>;
    /// Disables the client for good (idempotent): [`ClientStore::client`] no longer finds it.
    async fn disable_client(&self, client_id: &ClientId, now: UnixTime) -> Result<(), StoreError>;
    /// Lifts a disable (idempotent): the client is found again. Grants revoked when it was
    /// disabled stay revoked.
    async fn enable_client(&self, client_id: &ClientId) -> Result<(), StoreError>;
    /// The clients storage knows (registered, inserted by the operator, and metadata-document
    /// clients a person approved), most recently used first, at most `limit`, each with how
    /// many people and grants are live for it at every app, for the admin console.
    async fn clients_in_use(&self, limit: u32) -> Result<Vec<ClientUse>, StoreError>;
}

/// A client and its use, for the admin console ([`ClientStore::clients_in_use`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClientUse {
    /// The client.
    pub client_id: String,
    /// Its registered `client_name`, if any.
    pub client_name: Option<String>,
    /// `dynamic`, `static` or `metadata_document` (`clients.source`).
    pub source: String,
    /// When it was registered or first approved (Unix seconds).
    pub created_at: u64,
    /// When it last obtained tokens under any grant (Unix seconds).
    pub last_used_at: Option<u64>,
    /// When an admin disabled it (Unix seconds).
    pub disabled_at: Option<u64>,
    /// People holding a live grant for it, at every app.
    pub people: u64,
    /// Its live grants, at every app.
    pub live_grants: u64,
}

/// A person who logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Stable subject: `local:<email>` for local accounts.
    pub subject: String,
    /// The person's email, lowercase.
    pub email: String,
    /// Groups from the identity provider, as of the last login (none for local accounts).
    pub groups: Vec<String>,
}

/// A browser login session (the `__Host-gatehouse-session` cookie).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hash of the session id in the cookie.
    pub session_hash: SecretHash,
    /// Who logged in.
    pub person: Person,
    /// The app (its canonical URL) the session is for: a session opened on one app's host is
    /// no session on another's.
    pub app: String,
    /// When the session was last used (the idle timeout counts from here).
    pub last_seen_at: UnixTime,
    /// When the session ends regardless of use.
    pub expires_at: UnixTime,
}

/// People and their browser sessions.
#[allow(async_fn_in_trait)]
pub trait SessionStore {
    /// Records the person (creating or updating them) and opens a session.
    async fn insert_session(
        &self,
        session: &SessionRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The session with this hash, unless it was revoked or has passed `expires_at`.
    async fn session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Records that the session was used at `now`.
    async fn touch_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Ends every session of the person (an administrator cutting them off).
    async fn revoke_sessions_of(&self, subject: &str, now: UnixTime) -> Result<(), StoreError>;
    /// Ends the session (logout).
    async fn revoke_session(
        &self,
        session_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// The people storage knows, most recently seen first, at most `limit`, each with their
    /// open sessions at `now` and live grants at every app, for the admin console.
    async fn people_in_use(&self, limit: u32, now: UnixTime) -> Result<Vec<PersonUse>, StoreError>;
}

/// A person and what they hold, for the admin console ([`SessionStore::people_in_use`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PersonUse {
    /// Stable subject.
    pub subject: String,
    /// Their email.
    pub email: String,
    /// Browser sessions neither ended nor expired.
    pub sessions: u64,
    /// When a session of theirs was last used (Unix seconds).
    pub last_seen_at: Option<u64>,
    /// Their live grants (agents acting for them), at every app.
    pub live_grants: u64,
}

/// A person's consent on record for one client at one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The scopes approved, widened by each approval.
    pub scopes: Scopes,
    /// The redirect URI, exactly as requested (loopback port included), of the last request
    /// the person approved on the consent page; `None` when they approved only through the
    /// device grant, or before this was recorded. A public client's remembered consent holds
    /// for this redirect URI only (`crate::consent::remembered`).
    pub redirect_uri: Option<String>,
}

/// Remembered consent: a person let a client use an app with some scopes.
#[allow(async_fn_in_trait)]
pub trait ConsentStore {
    /// The consent this person gave this client at this app, if consent is on record.
    async fn consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
    ) -> Result<Option<ConsentRecord>, StoreError>;
    /// Records consent, replacing what was on record (the caller widens it).
    async fn put_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        consent: &ConsentRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Forgets the consent, so the client must ask the person again; only a consent given at or
    /// before `now`, so that withdrawing late (a revocation finished after a crash, or drained
    /// after a migration) never undoes an approval given after it. Idempotent.
    async fn withdraw_consent(
        &self,
        subject: &str,
        client_id: &ClientId,
        app: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
}

/// A grant: the unit of consent and of revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    /// Its identifier, carried in every token issued under it.
    pub grant_id: GrantId,
    /// The person.
    pub person: Person,
    /// The client acting for them.
    pub client_id: ClientId,
    /// The app's canonical URL: the audience of its tokens.
    pub app: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// Where the client receives codes: tells installations of one client apart.
    pub redirect_uri: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
    /// Why it was revoked, if it was.
    pub revoked_reason: Option<RevocationReason>,
    /// When every step of its revocation was known done ([`crate::revocation`]); a grant
    /// revoked but not settled has steps a crash may have left out, which any revocation path
    /// runs again.
    pub revocation_settled_at: Option<UnixTime>,
}

/// Why a grant was revoked (stored and audited).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// RFC 7009 revocation by the client.
    ClientRequest,
    /// An authorization code was presented twice (RFC 6749 §4.1.2).
    CodeReplayed,
    /// A rotated refresh token was presented again (RFC 9700 §4.14.2).
    RefreshTokenReused,
    /// The person revoked the agent on their connected-agents page.
    PersonRequest,
    /// An administrator revoked it through the admin API.
    AdminRequest,
    /// An administrator disabled the client.
    ClientDisabled,
    /// The app's policy no longer admits the person (found when the grant was next used).
    PolicyChanged,
}

impl RevocationReason {
    /// Every reason, for reading `grants.revoked_reason` back.
    const ALL: [Self; 7] = [
        Self::ClientRequest,
        Self::CodeReplayed,
        Self::RefreshTokenReused,
        Self::PersonRequest,
        Self::AdminRequest,
        Self::ClientDisabled,
        Self::PolicyChanged,
    ];

    /// The reason stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == text)
    }

    /// The value stored in `grants.revoked_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientRequest => "client_request",
            Self::CodeReplayed => "code_replayed",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::PersonRequest => "person_request",
            Self::AdminRequest => "admin_request",
            Self::ClientDisabled => "client_disabled",
            Self::PolicyChanged => "policy_changed",
        }
    }
}

/// Grants.
#[allow(async_fn_in_trait)]
pub trait GrantStore {
    /// Stores a new grant.
    async fn insert_grant(&self, grant: &GrantRecord) -> Result<(), StoreError>;
    /// The grant, revoked or not.
    async fn grant(&self, grant_id: &GrantId) -> Result<Option<GrantRecord>, StoreError>;
    /// Revokes the grant (idempotent: a second call changes nothing) and every refresh token
    /// issued under it.
    async fn revoke_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Marks the grant's revocation settled: every step of it is done (idempotent; keeps the
    /// first time).
    async fn settle_revocation(&self, grant_id: &GrantId, now: UnixTime) -> Result<(), StoreError>;
    /// The person's live grants at an app, newest first, for their connected-agents page.
    async fn live_grants(&self, subject: &str, app: &str) -> Result<Vec<GrantSummary>, StoreError>;
    /// The grants, revoked or not, at one app (or every app) of one person and/or one client
    /// (or everyone), newest first (at most 500).
    async fn grants_matching(
        &self,
        app: Option<&str>,
        subject: Option<&str>,
        client_id: Option<&ClientId>,
    ) -> Result<Vec<GrantRecord>, StoreError>;
    /// Records an issuance of tokens in one transaction (one round trip): the grant's last
    /// use, the audit event, and the refresh token write, if any.
    async fn record_issuance(&self, issuance: &Issuance<'_>) -> Result<(), StoreError>;
}

/// What issuing tokens under a grant writes.
#[derive(Clone, Copy, Debug)]
pub struct Issuance<'a> {
    /// The grant the tokens were issued under; its "last used" becomes `now`.
    pub grant_id: &'a GrantId,
    /// The audit event of the issuance.
    pub event: &'a crate::audit::AuditEvent,
    /// When.
    pub now: UnixTime,
    /// The refresh token written with it.
    pub refresh: RefreshWrite<'a>,
}

/// The refresh token write of an [`Issuance`].
#[derive(Clone, Copy, Debug)]
pub enum RefreshWrite<'a> {
    /// None: the client does not use refresh tokens, or a retried refresh returns the
    /// successor stored before.
    None,
    /// The first refresh token of a new grant.
    Insert(&'a RefreshRecord),
    /// Rotation, a compare-and-swap: if `old` is still live, mark it rotated into `successor`
    /// and store `successor` as the grant's live token. Because the successor is derived from
    /// the old token, a racing caller that lost computed the same successor, and the chain
    /// never forks.
    Rotate {
        /// The presented token's hash.
        old: &'a SecretHash,
        /// Its successor.
        successor: &'a RefreshRecord,
    },
}

/// A grant as the connected-agents page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSummary {
    /// The grant.
    pub grant_id: GrantId,
    /// The agent's client id.
    pub client_id: ClientId,
    /// The agent's registered name, if it gave one.
    pub client_name: Option<String>,
    /// Where the agent receives codes: tells two installations of one agent apart.
    pub redirect_uri: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When the person approved it.
    pub created_at: UnixTime,
    /// When tokens were last issued under it.
    pub last_used_at: Option<UnixTime>,
}

/// An issued authorization code, bound to everything the token request must repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    /// Hash of the code.
    pub code_hash: SecretHash,
    /// The grant it was issued under.
    pub grant_id: GrantId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The redirect URI of the authorization request, exactly as sent.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource (RFC 8707) the token will be for.
    pub resource: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// When it stops being exchangeable.
    pub expires_at: UnixTime,
}

/// What a token request repeats of its code's authorization request, compared with the code
/// before it is spent: whoever merely saw a code (in a log, a `Referer`, a browser history)
/// cannot spend it, because they lack the client's credentials or the PKCE verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeBinding<'a> {
    /// The authenticated client (RFC 6749 §4.1.3: "ensure that the authorization code was
    /// issued to the authenticated confidential client, or if the client is public, ensure
    /// that the code was issued to "client_id" in the request").
    pub client_id: &'a ClientId,
    /// The app served where the token request arrived: each app host is its own issuer.
    pub resource: &'a str,
    /// The redirect URI the request repeats (RFC 6749 §4.1.3), or the client's only registered
    /// one when it left the parameter out; `None` matches no code.
    pub redirect_uri: Option<&'a str>,
    /// The `S256` challenge of the presented `code_verifier` (RFC 7636 §4.6).
    pub code_challenge: &'a str,
}

impl CodeBinding<'_> {
    /// Why `code` was not issued for this request, checked in this order (the first that
    /// differs is reported); `None` when everything matches.
    pub fn mismatch(&self, code: &CodeRecord) -> Option<crate::error::Reason> {
        use crate::error::Reason;
        if &code.client_id != self.client_id {
            Some(Reason::CodeIssuedToOtherClient)
        } else if code.resource != self.resource {
            // A code issued for one app is unknown at another.
            Some(Reason::CodeUnknown)
        } else if self.redirect_uri != Some(code.redirect_uri.as_str()) {
            Some(Reason::CodeRedirectUriMismatch)
        } else if !crate::crypto::ct_eq_digest(
            self.code_challenge.as_bytes(),
            code.code_challenge.as_bytes(),
        ) {
            Some(Reason::PkceVerifierMismatch)
        } else {
            None
        }
    }
}

/// What consuming a code found.
#[derive(Clone, Debug, PartialEq, Eq)]
// Returned once per token request and matched at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Consumed {
    /// First use by the request it was issued for: the caller alone received it, with its
    /// grant (read in the same round trip; `None` if the grant is gone).
    Fresh(CodeRecord, Option<GrantRecord>),
    /// The request it was issued for presented it again: its grant must be revoked
    /// (RFC 6749 §4.1.2).
    Replayed(GrantId),
    /// The code exists, used or not, but the request does not match its [`CodeBinding`].
    /// Nothing was changed; the code, with its grant, is returned for the audit log.
    Refused(CodeRecord, Option<GrantRecord>),
    /// No such code.
    Unknown,
}

/// Authorization codes.
#[allow(async_fn_in_trait)]
pub trait CodeStore {
    /// Stores a new code.
    async fn insert_code(&self, code: &CodeRecord, now: UnixTime) -> Result<(), StoreError>;
    /// Marks the code used in one atomic step if, and only if, it is unused and `binding`
    /// matches it (D1: `UPDATE … WHERE used_at IS NULL AND client_id = … AND resource = … AND
    /// redirect_uri = … AND code_challenge = …`), and reads its grant, in one round trip.
    /// Exactly one caller ever receives `Fresh` for a given code, however many race. A code
    /// whose binding does not match ([`CodeBinding::mismatch`]) is `Refused` and left as it
    /// was, used or not; `Replayed` is only for a used code whose binding matches.
    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        binding: &CodeBinding<'_>,
        now: UnixTime,
    ) -> Result<Consumed, StoreError>;
}

/// A refresh token: one row per token ever issued, of which exactly one per grant is live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Hash of the token.
    pub token_hash: SecretHash,
    /// The grant it refreshes.
    pub grant_id: GrantId,
    /// When it lapses.
    pub expires_at: UnixTime,
    /// When it was rotated (no longer live); `None` while live.
    pub rotated_at: Option<UnixTime>,
    /// Hash of the token it was rotated into.
    pub successor_hash: Option<SecretHash>,
}

/// Refresh tokens.
#[allow(async_fn_in_trait)]
pub trait RefreshStore {
    /// The token with this hash, live or rotated.
    async fn refresh(&self, token_hash: &SecretHash) -> Result<Option<RefreshRecord>, StoreError>;
    /// The token with this hash and its grant, read together (one round trip for the refresh
    /// grant); `None` when either is unknown.
    async fn refresh_with_grant(
        &self,
        token_hash: &SecretHash,
    ) -> Result<Option<(RefreshRecord, GrantRecord)>, StoreError>;
}

/// The edge denylist of revoked grants, read by the gatekeeper on every authenticated request.
/// Entries outlive every access token issued before the revocation.
#[allow(async_fn_in_trait)]
pub trait Denylist {
    /// Refuses tokens of this grant until `until`, keeping why. KV refuses an `until` less than
    /// [`crate::revocation::KV_MIN_TTL_SECS`] after `now`, as does every implementation.
    async fn deny_grant(
        &self,
        grant_id: &GrantId,
        reason: RevocationReason,
        until: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Whether tokens of this grant are refused: the gatekeeper's question, which
    /// implementations may answer from a per-isolate cache.
    async fn is_grant_denied(&self, grant_id: &GrantId) -> Result<bool, StoreError>;
    /// Why tokens of this grant are refused, if they are, read from the denylist itself: what a
    /// path that finishes a revocation D1 does not know needs. An entry of a build that kept no
    /// reason reads as [`RevocationReason::ClientRequest`].
    async fn denial(&self, grant_id: &GrantId) -> Result<Option<RevocationReason>, StoreError>;
}

/// The `revocations` Queue, as the producer sees it.
#[allow(async_fn_in_trait)]
pub trait RevocationQueue {
    /// Puts a message on the Queue; once this returns, the message is durable.
    async fn enqueue(&self, message: &crate::queue::QueueMessage) -> Result<(), StoreError>;
}

/// Where a device authorization stands (RFC 8628 §3.3–§3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the person: polls are answered `authorization_pending`.
    Pending,
    /// The person approved: the next poll receives tokens of this grant.
    Approved(GrantId),
    /// The person denied: polls are answered `access_denied`.
    Denied,
    /// Tokens were issued: the device code is spent.
    Redeemed,
}

/// An issued device code (RFC 8628 §3.2), bound to its client, app and scopes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceCodeRecord {
    /// Hash (SHA-256) of the device code.
    pub device_code_hash: SecretHash,
    /// Keyed digest (HMAC) of the normalised user code.
    pub user_code_hash: SecretHash,
    /// The client that asked.
    pub client_id: ClientId,
    /// The app (its canonical URL) the tokens will be for (RFC 8707).
    pub resource: String,
    /// The scopes asked for, as narrowed at the device authorization endpoint.
    pub scopes: Scopes,
    /// The current minimum polling interval (RFC 8628 §3.5: grows by 5 s on `slow_down`).
    pub interval_secs: u64,
    /// When the codes stop working.
    pub expires_at: UnixTime,
    /// Where it stands.
    pub status: DeviceStatus,
}

/// What a poll of the token endpoint found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevicePoll {
    /// The device code, after the poll was recorded.
    pub record: DeviceCodeRecord,
    /// The previous poll was less than the interval ago (the interval has grown by the slow-down
    /// step already).
    pub too_fast: bool,
}

/// Device codes (RFC 8628) and the wrong user codes people typed.
#[allow(async_fn_in_trait)]
pub trait DeviceStore {
    /// Stores a new device code, unless an unexpired one has the same user code digest.
    /// Returns whether it was stored; check and insert are one atomic step.
    async fn insert_device_code(
        &self,
        code: &DeviceCodeRecord,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// The pending, unexpired device code with this user code digest.
    async fn pending_device_code(
        &self,
        user_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeviceCodeRecord>, StoreError>;
    /// Records the person's decision (`Some(grant)`: approved; `None`: denied) on a pending,
    /// unexpired code in one atomic step. Returns whether this call decided it.
    async fn decide_device_code(
        &self,
        device_code_hash: &SecretHash,
        approved: Option<&GrantId>,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Records a poll by `client_id` in one atomic step: when the previous poll was less than
    /// the interval ago, the interval grows by `slow_down_secs`. `None` when the client has no
    /// device code with this hash.
    async fn poll_device_code(
        &self,
        device_code_hash: &SecretHash,
        client_id: &ClientId,
        slow_down_secs: u64,
        now: UnixTime,
    ) -> Result<Option<DevicePoll>, StoreError>;
    /// Marks an approved code redeemed in one atomic step (D1: `UPDATE … WHERE status =
    /// 'approved'`). Exactly one caller ever receives the grant, however many race.
    async fn redeem_device_code(
        &self,
        device_code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<GrantId>, StoreError>;
    /// Records that `subject` typed a user code that matched nothing.
    async fn record_wrong_user_code(&self, subject: &str, now: UnixTime) -> Result<(), StoreError>;
    /// How many wrong user codes `subject` typed after `since`.
    async fn wrong_user_codes_since(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> Result<u64, StoreError>;
}

/// Pending upstream OpenID Connect logins (`oidc_states`).
#[allow(async_fn_in_trait)]
pub trait OidcStateStore {
    /// Stores a new pending login.
    async fn insert_oidc_state(
        &self,
        state: &crate::oidc::state::StateRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Marks the state used in one atomic step (D1: `UPDATE … WHERE used_at IS NULL`).
    /// Exactly one caller ever receives `Fresh` for a given state, however many race; expiry is
    /// the caller's to check.
    async fn consume_oidc_state(
        &self,
        state_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<crate::oidc::state::StateUse, StoreError>;
}

/// A local-account login about to be checked, as `crate::login_throttle` counts them.
#[derive(Clone, Copy, Debug)]
pub struct LoginAttempt<'a> {
    /// The account typed ([`crate::login_throttle::account_key`]).
    pub account: &'a SecretHash,
    /// Where it came from (`registration::source_network`).
    pub source: &'a str,
    /// When.
    pub at: UnixTime,
}

/// Checked local-account logins, for the bounds of `crate::login_throttle`.
#[allow(async_fn_in_trait)]
pub trait LoginAttempts {
    /// Starts checking a login, in one atomic step: if the bounds allow a check now
    /// (`crate::login_throttle::judge` on the history at `attempt.at`, which the D1 statement
    /// repeats in SQL), records the attempt as a failure and returns its id, so that checks
    /// racing each other count each other; otherwise records nothing and returns the history
    /// that refused it. Counted are failures after `login_throttle::window_start` and
    /// successes after `login_throttle::known_since`; older rows, which no bound reads any
    /// more, are forgotten in the same step.
    async fn start_login_attempt(
        &self,
        attempt: &LoginAttempt<'_>,
    ) -> Result<Result<u64, crate::login_throttle::LoginHistory>, StoreError>;
    /// The password was right: the attempt is a success, and its source becomes known to its
    /// account.
    async fn login_attempt_succeeded(&self, id: u64) -> Result<(), StoreError>;
}

/// Everything the authorization server stores.
pub trait Store:
    ClientStore
    + SessionStore
    + ConsentStore
    + GrantStore
    + CodeStore
    + RefreshStore
    + Denylist
    + RevocationQueue
    + crate::migration::HeldWrites
    + DeviceStore
    + OidcStateStore
    + LoginAttempts
    + crate::audit::AuditLog
    + crate::cimd::MetadataDocuments
{
}

impl<T> Store for T where
    T: ClientStore
        + SessionStore
        + ConsentStore
        + GrantStore
        + CodeStore
        + RefreshStore
        + Denylist
        + RevocationQueue
        + crate::migration::HeldWrites
        + DeviceStore
        + OidcStateStore
        + LoginAttempts
        + crate::audit::AuditLog
        + crate::cimd::MetadataDocuments
{
}
