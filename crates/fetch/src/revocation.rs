//! Token revocation (RFC 7009) on logout: the refresh token first (which ends the grant on most
//! servers, RFC 7009 §2.1), then the access token.

use crate::Error;
use crate::http::Http;
use crate::secret::Secret;
use url::Url;

/// Revokes `token`; `Ok(true)` when the server answered `200` (RFC 7009 §2.2).
pub fn revoke(
    http: &Http,
    endpoint: &Url,
    client_id: &str,
    token: &Secret,
    hint: &str,
) -> Result<bool, Error> {
    let params = [
        ("token", token.expose_secret()),
        ("token_type_hint", hint),
        ("client_id", client_id),
    ];
    let response = http.post_form::<serde_json::Value>(endpoint, &params)?;
    Ok(response.status == 200)
}
