//! The device code grant's token request (RFC 8628 §3.4–§3.5): the device polls with its device
//! code until the person has decided on the verification page.
//!
//! Every poll is recorded in one atomic step that also applies the slow-down rule, and tokens
//! are issued only to the caller whose atomic `UPDATE … WHERE status = 'approved'` marked the
//! code redeemed, so racing polls receive tokens exactly once. A poll after redemption is
//! answered `invalid_grant` but does not revoke the grant: unlike a replayed authorization code,
//! a repeated poll is what a device does when a response crosses its next request.

use super::live;
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::grants::TokenResponse;
use crate::jose::signer::Signer;
use crate::model::audit::AuditKind;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::store::{DeviceStatus, Store};
use crate::time::UnixTime;

/// The grant type's wire value (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5 `slow_down`: "the interval MUST be increased by 5 seconds for this and all
/// subsequent requests".
pub const SLOW_DOWN_SECS: u64 = 5;

/// Answers a poll: tokens once the person approved, else the RFC 8628 §3.5 error that says
/// what the device should do next.
pub async fn redeem<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    client: &AuthenticatedClient,
    form: &Form,
    now: UnixTime,
) -> Result<TokenResponse, Failure> {
    if !client.record().metadata.allows(GrantType::DeviceCode) {
        return Err(Reason::GrantTypeNotRegistered.into());
    }
    // A device code gatehouse did not issue is unknown without a lookup (`crate::identifiers`):
    // `invalid_grant` (RFC 8628 §3.5, RFC 6749 §5.2).
    let code = cx
        .identifiers
        .device_code(form.require("device_code")?)
        .ok_or(Reason::DeviceCodeUnknown)?;
    let hash = code.hash();
    // RFC 8628 §3.4: the device code must have been issued to the authenticated client; a code
    // of another client is unknown to this one (and its poll is not recorded).
    let poll = cx
        .store
        .poll_device_code(&hash, client.id(), SLOW_DOWN_SECS, now)
        .await?
        .ok_or(Reason::DeviceCodeUnknown)?;
    let record = poll.record;
    // Each app is its own issuer: a code issued for one app is unknown at another.
    if record.resource != cx.site.resource {
        return Err(Reason::DeviceCodeUnknown.into());
    }
    super::check_resource_parameter(cx, form, &record.resource)?;
    if now >= record.expires_at {
        return Err(Reason::DeviceCodeExpired.into());
    }
    match record.status {
        DeviceStatus::Pending if poll.too_fast => Err(Reason::DevicePollingTooFast.into()),
        DeviceStatus::Pending => Err(Reason::DeviceAuthorizationPending.into()),
        DeviceStatus::Denied => Err(Reason::ConsentDenied.into()),
        DeviceStatus::Redeemed => Err(Reason::DeviceCodeRedeemed.into()),
        DeviceStatus::Approved(_) => {
            let grant_id = cx
                .store
                .redeem_device_code(&hash, now)
                .await?
                .ok_or(Reason::DeviceCodeRedeemed)?;
            let grant = live::live_grant(cx, &grant_id).await?;
            live::enforce_policy(cx, &grant).await?;
            let refresh = super::FirstRefreshToken::issue(cx, client, &grant.grant_id, now);
            Ok(super::respond(
                cx,
                AuditKind::TokenIssued,
                client,
                &grant,
                &grant.scopes,
                refresh.issued(),
                now,
            )
            .await?)
        }
    }
}
