//! Authorization codes (RFC 6749 §4.1.2: single use).

use crate::model::code::{CodeBinding, CodeRecord, Consumed};
use crate::secret::SecretHash;
use crate::time::UnixTime;

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
    async fn consume_code(
        &self,
        code_hash: &SecretHash,
        binding: &CodeBinding<'_>,
        now: UnixTime,
    ) -> Result<Consumed, StoreError>;
}
