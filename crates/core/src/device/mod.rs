//! The device authorization grant (RFC 8628): the device authorization endpoint (§3.1–§3.2)
//! here, the verification page where a person enters the user code in [`verification`], the
//! user code itself in [`user_code`], and the token endpoint's polling in
//! [`crate::grants::device_code`].
//!
//! The client authenticates exactly as at the token endpoint ([`crate::client_auth`]) and must
//! have registered the grant type; `scope` and `resource` pass the same checks as at the
//! authorization endpoint. Not implemented: the optional QR code and any device-side display.

pub mod user_code;
pub mod verification;

use serde::Serialize;

use crate::authorize;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::grants::device_code::SLOW_DOWN_SECS;
use crate::jose::signer::Signer;
use crate::paths;
use crate::registration::GrantType;
use crate::rng::Rng;
use crate::store::{DeviceCodeRecord, DeviceStatus, Store, StoreError};

use self::user_code::UserCode;

/// How long the device code and user code work (RFC 8628 §3.2 `expires_in`): long enough to
/// find a browser and log in, short enough to keep the user code's guessing window small.
pub const DEVICE_CODE_TTL_SECS: u64 = 600;
/// The polling interval the device starts with (RFC 8628 §3.2: "If no value is provided, clients
/// MUST use 5 as the default").
pub const INTERVAL_SECS: u64 = SLOW_DOWN_SECS;
/// Wrong user codes a person may type per [`WRONG_USER_CODE_WINDOW_SECS`] before the
/// verification page refuses them (RFC 8628 §5.1: "rate-limit user code verification").
pub const MAX_WRONG_USER_CODES: u64 = 5;
/// The window of [`MAX_WRONG_USER_CODES`].
pub const WRONG_USER_CODE_WINDOW_SECS: u64 = 15 * 60;
/// The label of the server key that digests user codes for storage.
const USER_CODE_KEY_LABEL: &str = "device-user-code";
/// Fresh user codes tried when the first collides with a live one (at 20^8 codes, a second
/// collision in a row means something else is wrong).
const USER_CODE_ATTEMPTS: usize = 3;

/// The device authorization response (RFC 8628 §3.2). Sent with `Cache-Control: no-store`.
#[derive(Debug, Serialize)]
pub struct DeviceAuthorizationResponse {
    /// The device verification code, polled with at the token endpoint.
    pub device_code: String,
    /// The code the person types, `XXXX-XXXX`.
    pub user_code: String,
    /// Where the person types it.
    pub verification_uri: String,
    /// The same page with the code filled in (it still has to be confirmed and approved).
    pub verification_uri_complete: String,
    /// Seconds until both codes expire.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    pub interval: u64,
}

/// `POST /oauth/device_authorization` (RFC 8628 §3.1).
pub async fn device_authorization<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<DeviceAuthorizationResponse, Failure> {
    let (form, client) =
        crate::client_auth::request::authenticate_request(cx, body, authorization).await?;
    let metadata = &client.record().metadata;
    if !metadata.allows(GrantType::DeviceCode) {
        return Err(Reason::GrantTypeNotRegistered.into());
    }
    let resource = authorize::check_resource(&cx.site, &form)?;
    let scopes = authorize::check_scope(&cx.site, &form)?;
    let device_code = cx.identifiers.issue_device_code(cx.rng);
    let key = user_code_key(cx);
    for _ in 0..USER_CODE_ATTEMPTS {
        let user_code = UserCode::issue(cx.rng);
        let record = DeviceCodeRecord {
            device_code_hash: device_code.hash(),
            user_code_hash: user_code.hash(&key),
            client_id: client.id().clone(),
            resource: resource.clone(),
            scopes: scopes.clone(),
            interval_secs: INTERVAL_SECS,
            expires_at: cx.now.plus(DEVICE_CODE_TTL_SECS),
            status: DeviceStatus::Pending,
        };
        if cx.store.insert_device_code(&record, cx.now).await? {
            let verification_uri = format!("{}{}", cx.site.origin, cx.site.path(paths::DEVICE));
            let shown = user_code.display();
            return Ok(DeviceAuthorizationResponse {
                device_code: device_code.expose_secret().to_owned(),
                verification_uri_complete: format!(
                    "{verification_uri}?{}={shown}",
                    verification::USER_CODE_FIELD
                ),
                user_code: shown,
                verification_uri,
                expires_in: DEVICE_CODE_TTL_SECS,
                interval: INTERVAL_SECS,
            });
        }
    }
    Err(StoreError("no free user code after several attempts".into()).into())
}

/// The key user codes are digested under.
pub(crate) fn user_code_key<S: Store, K: Signer, R: Rng>(cx: &Context<'_, S, K, R>) -> [u8; 32] {
    cx.secret.derive(USER_CODE_KEY_LABEL)
}

/// The key user codes were digested under before the server secret was rotated, while the
/// previous secret is kept (`GATEHOUSE_SECRET_PREVIOUS`).
pub(crate) fn previous_user_code_key<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
) -> Option<[u8; 32]> {
    cx.secret.derive_previous(USER_CODE_KEY_LABEL)
}
