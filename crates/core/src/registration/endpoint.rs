//! The registration endpoint (RFC 7591 §3) in this request's [`Context`]: the metadata checked,
//! the client created, stored and audited within the hourly limit per network.

use super::{MAX_REGISTRATIONS_PER_HOUR, Registered, register, validate};
use crate::context::Context;
use crate::error::{OAuthError, Reason};
use crate::failure::Failure;
use crate::model::audit::AuditKind;
use crate::rng::Rng;
use crate::store::{RegistrationLimit, Store};
use crate::time::UnixTime;

/// `POST /oauth/register` (RFC 7591 §3): validates the metadata, creates the client and stores
/// it with its audit event, within the hourly limit per `source` network.
pub(crate) async fn register_client<S: Store, K, R: Rng>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    source: &str,
) -> Result<Registered, Failure> {
    let metadata = validate(body).map_err(|e| Failure::OAuth {
        error: OAuthError::from(e.reason),
        basic_challenge: false,
    })?;
    let registered = register(metadata, &cx.identifiers.client_ids, cx.rng, cx.now);
    let name = serde_json::json!({ "client_name": registered.record.metadata.client_name });
    let event = cx.audit_event(
        AuditKind::ClientRegistered,
        None,
        Some(&registered.record.client_id),
        None,
        name,
    );
    let limit = RegistrationLimit {
        max: MAX_REGISTRATIONS_PER_HOUR,
        since: UnixTime(cx.now.0.saturating_sub(3600)),
    };
    let stored = cx
        .store
        .insert_client(&registered.record, source, &event, limit)
        .await?;
    if !stored {
        return Err(Reason::RegistrationRateLimited.into());
    }
    Ok(registered)
}
