//! Authorization codes (RFC 6749 §4.1.2: single use).

use crate::grant_id::GrantId;
use crate::model::audit::AuditEvent;
use crate::model::client::ClientRecord;
use crate::model::code::{CodeBinding, CodeRecord, Consumed};
use crate::model::grant::GrantRecord;
use crate::model::refresh::RefreshRecord;
use crate::secret::SecretHash;
use crate::time::UnixTime;

use super::client::ClientCheck;
use super::error::StoreError;

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
    ///
    /// Only codes issued before codes named their grant take this path
    /// ([`Self::exchange_code`] is the other).
    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        binding: &CodeBinding<'_>,
        now: UnixTime,
    ) -> Result<Consumed, StoreError>;
    /// One exchange of a code that names its grant, in one transaction (one round trip), each
    /// step conditioned on the state the steps before it saw (D1: one batch):
    ///
    /// 1. **record the issuance**: the first refresh token (if any), the grant's last use and
    ///    the audit event ([`Exchange::issued_event`]), if, and only if, the code is unused, of
    ///    `grant_id`, unexpired at `now`, matches `binding`, and the grant is not revoked, is
    ///    `binding.client_id`'s and for `binding.resource`;
    /// 2. **consume** the code, the compare-and-swap of [`Self::consume_code`]: mark it used at
    ///    `now` if it is unused, of `grant_id` and matches `binding` (an expired code is spent
    ///    too, as before: its refusal says it expired, and a second try is a replay);
    /// 3. **read** the code and its grant as the transaction left them.
    ///
    /// Step 1 comes first so that its condition "unused" is the one step 2 then makes false:
    /// inside the transaction, step 1 records the issuance exactly when step 2 consumes the
    /// code for this request and the code and grant allow tokens. Exactly one caller ever
    /// receives [`Consumed::Fresh`], however many race, and the tokens may be sent only when
    /// [`Exchanged::issued`]: none is answered without its audit event, and no refresh token is
    /// sent that is not stored.
    ///
    /// With [`Exchange::check_client`] (a client this isolate has not authenticated lately,
    /// [`crate::client_auth::Deferred`]), the transaction authenticates it as well: steps 1 and 2
    /// are conditioned also on `binding.client_id` being a client as [`ClientCheck`] asks that
    /// registered the `authorization_code` grant type, the refresh token's insert also on its
    /// having registered the `refresh_token` grant type, and a 4th step reads the client back
    /// ([`Exchanged::client`]), unless unknown, disabled or lapsed. A client refused by these
    /// conditions spends nothing, stores nothing and records nothing.
    async fn exchange_code(&self, exchange: &Exchange<'_>) -> Result<Exchanged, StoreError>;
}

/// What one exchange of a code that names its grant asks of storage
/// ([`CodeStore::exchange_code`]).
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// The presented code's hash.
    pub code_hash: &'a SecretHash,
    /// The grant the code names.
    pub grant_id: &'a GrantId,
    /// What the request repeats of the authorization request.
    pub binding: &'a CodeBinding<'a>,
    /// The grant's first refresh token, stored with the issuance; `None` for clients that do
    /// not use refresh tokens.
    pub refresh: Option<&'a RefreshRecord>,
    /// The issuance's audit event, without its subject and scope ([`Self::issued_event`]).
    pub event: &'a AuditEvent,
    /// When.
    pub now: UnixTime,
    /// The client to authenticate in the transaction; `None`: authenticated before it.
    pub check_client: Option<&'a ClientCheck>,
}

impl Exchange<'_> {
    /// The audit event recorded for `code` under `grant`: [`Self::event`] naming the grant's
    /// person, with the code's scopes as `scope` in its detail.
    pub fn issued_event(&self, code: &CodeRecord, grant: &GrantRecord) -> AuditEvent {
        let mut event = self.event.clone();
        event.subject = Some(grant.person.subject.clone());
        if let Some(detail) = event.detail.as_object_mut() {
            detail.insert("scope".into(), code.scopes.to_string().into());
        }
        event
    }
}

/// What [`CodeStore::exchange_code`] did and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchanged {
    /// What consuming the code found, read as the transaction left it.
    pub consumed: Consumed,
    /// Whether the issuance was recorded: only then may tokens be sent.
    pub issued: bool,
    /// With [`Exchange::check_client`]: the client as the transaction read it, unless unknown,
    /// disabled or lapsed at `now`. Without: `None`.
    pub client: Option<ClientRecord>,
}
