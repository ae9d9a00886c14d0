//! Storage as the protocol needs it: one trait per concern, one file each, each stating the
//! atomicity it must provide (the contracts are the traits' docs; `docs/storage.md` maps them to
//! D1 tables and KV prefixes). The Worker implements them on D1, KV and the Queue (`src/store/`);
//! native tests use `testing::MemoryStore`, which enforces the same rules.
//!
//! This module depends only on the records of [`crate::model`] and the bottom layer; features
//! import it, never the reverse. For convenience it re-exports the records its traits take and
//! return.
//!
//! Secrets reach storage only as [`SecretHash`](crate::secret::SecretHash)es: a raw code,
//! refresh token, client secret or session id cannot be written by mistake, because no method
//! accepts one.

mod audit;
mod client;
mod code;
mod consent;
mod denylist;
mod device;
mod error;
mod grant;
mod held;
mod login;
mod oidc_state;
mod queue;
mod refresh;
mod replica;
mod retention;
mod session;

pub use audit::AuditLog;
pub use client::{ClientCheck, ClientStore, RegistrationLimit};
pub use code::{CodeStore, Exchange, Exchanged};
pub use consent::ConsentStore;
pub use denylist::{Denylist, KV_MIN_TTL_SECS};
pub use device::DeviceStore;
pub use error::StoreError;
pub use grant::{GrantStore, Issuance, RefreshWrite, TokenRevocation, TokenRevoked};
pub use held::HeldWrites;
pub use login::LoginAttempts;
pub use oidc_state::OidcStateStore;
pub use queue::RevocationQueue;
pub use refresh::{RefreshStore, Rotated, Rotation};
pub use replica::{Freshness, ReadFrom};
pub use retention::{Lapsed, Retention};
pub use session::SessionStore;

// Not yet below store: see `crates/core/layers.json`, "exceptions".
use crate::cimd::MetadataDocuments;

pub use crate::model::client::{ClientRecord, ClientSource, ClientUse};
pub use crate::model::code::{CodeBinding, CodeRecord, Consumed};
pub use crate::model::consent::ConsentRecord;
pub use crate::model::device::{DeviceCodeRecord, DevicePoll, DeviceStatus};
pub use crate::model::grant::{GrantRecord, GrantSummary, RevocationReason};
pub use crate::model::login::LoginAttempt;
pub use crate::model::person::{Person, PersonUse, SessionRecord};
pub use crate::model::refresh::RefreshRecord;

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
    + HeldWrites
    + DeviceStore
    + OidcStateStore
    + LoginAttempts
    + AuditLog
    + MetadataDocuments
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
        + HeldWrites
        + DeviceStore
        + OidcStateStore
        + LoginAttempts
        + AuditLog
        + MetadataDocuments
{
}
