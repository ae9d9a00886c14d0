//! The device authorization grant (RFC 8628) for machines without a browser: ask for a device
//! code, show the person the user code and where to enter it, then poll the token endpoint.

use crate::Error;
use crate::discovery::DEVICE_CODE_GRANT;
use crate::http::Http;
use crate::secret::Secret;
use crate::token::{self, Outcome, TokenResponse};
use serde::Deserialize;
use std::time::{Duration, Instant};
use url::Url;

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: on `slow_down` "the interval MUST be increased by 5 seconds".
pub const SLOW_DOWN_STEP_SECS: u64 = 5;
/// Polling stops after this long when the server names no `expires_in`.
pub const DEFAULT_EXPIRES_SECS: u64 = 600;

/// RFC 8628 §3.2 device authorization response.
#[derive(Deserialize)]
pub struct DeviceAuthorization {
    device_code: String,
    /// The code the person types.
    pub user_code: String,
    /// Where they type it.
    pub verification_uri: String,
    /// The same page with the code filled in (optional).
    pub verification_uri_complete: Option<String>,
    /// Lifetime of the codes in seconds.
    pub expires_in: Option<u64>,
    /// Minimum seconds between polls.
    pub interval: Option<u64>,
}

/// What to do after a token-endpoint error while polling (RFC 8628 §3.5).
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Poll again after this many seconds.
    Wait(u64),
    /// Give up with this error.
    Stop(String),
}

/// RFC 8628 §3.5: `authorization_pending` keeps the interval, `slow_down` adds 5 s, and
/// `access_denied`, `expired_token` or anything else ends polling.
pub fn next_step(error: &str, interval: u64) -> Step {
    match error {
        "authorization_pending" => Step::Wait(interval),
        "slow_down" => Step::Wait(interval.saturating_add(SLOW_DOWN_STEP_SECS)),
        "access_denied" => Step::Stop("the person denied the authorization".into()),
        "expired_token" => Step::Stop("the device code expired before the person approved".into()),
        other => Step::Stop(format!(
            "the token endpoint refused the device code: {other}"
        )),
    }
}

/// Starts a device authorization (RFC 8628 §3.1) with the scopes and resource (RFC 8707).
pub fn start(
    http: &Http,
    endpoint: &Url,
    client_id: &str,
    scope: &str,
    resource: &str,
) -> Result<DeviceAuthorization, Error> {
    let mut params = vec![("client_id", client_id), ("resource", resource)];
    if !scope.is_empty() {
        params.push(("scope", scope));
    }
    let response = http.post_form::<serde_json::Value>(endpoint, &params)?;
    let body = response.body.unwrap_or_default();
    if response.status != 200 {
        return Err(Error::Authorization(format!(
            "device authorization refused ({}): {body}",
            response.status
        )));
    }
    serde_json::from_value(body)
        .map_err(|e| Error::Authorization(format!("malformed device authorization response: {e}")))
}

/// Polls the token endpoint until the person approves, denies, or the code expires.
pub fn poll(
    http: &Http,
    token_endpoint: &Url,
    client_id: &str,
    device: &DeviceAuthorization,
) -> Result<TokenResponse, Error> {
    let device_code = Secret::new(device.device_code.clone());
    let deadline =
        Instant::now() + Duration::from_secs(device.expires_in.unwrap_or(DEFAULT_EXPIRES_SECS));
    let mut interval = device.interval.unwrap_or(DEFAULT_INTERVAL_SECS).max(1);
    loop {
        std::thread::sleep(Duration::from_secs(interval));
        if Instant::now() >= deadline {
            return Err(Error::Authorization(
                "the device code expired before the person approved".into(),
            ));
        }
        let params = [
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code.expose_secret()),
            ("client_id", client_id),
        ];
        match token::request(http, token_endpoint, &params)? {
            Outcome::Tokens(tokens) => return Ok(tokens),
            Outcome::Refused(error) => match next_step(&error.error, interval) {
                Step::Wait(next) => interval = next,
                Step::Stop(why) => return Err(Error::Authorization(why)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_follows_rfc8628_section_3_5() {
        assert_eq!(next_step("authorization_pending", 5), Step::Wait(5));
        assert_eq!(next_step("slow_down", 5), Step::Wait(10));
        assert_eq!(next_step("slow_down", u64::MAX), Step::Wait(u64::MAX));
        assert!(matches!(next_step("access_denied", 5), Step::Stop(m) if m.contains("denied")));
        assert!(matches!(next_step("expired_token", 5), Step::Stop(m) if m.contains("expired")));
        assert!(matches!(next_step("invalid_grant", 5), Step::Stop(_)));
    }
}
