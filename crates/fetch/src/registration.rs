//! Dynamic client registration (RFC 7591) as a public native client: no secret
//! (`token_endpoint_auth_method: none`), a loopback redirect URI without a port (RFC 8252 §7.3:
//! the server allows any port at authorization time).

use crate::Error;
use crate::discovery::{AuthorizationServerMetadata, DEVICE_CODE_GRANT};
use crate::http::Http;
use serde::Deserialize;
use serde_json::json;

/// The redirect URI we register; the listener adds its ephemeral port.
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    token_endpoint_auth_method: Option<String>,
}

/// Registers this client with `server`; returns the client id.
pub fn register(
    http: &Http,
    server: &AuthorizationServerMetadata,
    client_name: &str,
) -> Result<String, Error> {
    let endpoint = server.registration_endpoint.as_ref().ok_or_else(|| {
        Error::Authorization(format!(
            "{} offers no registration endpoint; pass a pre-registered --client-id",
            server.issuer
        ))
    })?;
    let mut grant_types = vec!["authorization_code", "refresh_token"];
    // Only ask for the device grant where the server lists it, so servers that refuse unknown
    // grant types (RFC 7591 §3.2.2 invalid_client_metadata) still register us.
    if server
        .grant_types_supported
        .iter()
        .any(|g| g == DEVICE_CODE_GRANT)
    {
        grant_types.push(DEVICE_CODE_GRANT);
    }
    let body = json!({
        "client_name": client_name,
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": grant_types,
        "response_types": ["code"],
        "application_type": "native",
    });
    let response = http.post_json::<serde_json::Value>(endpoint, &body)?;
    let value = response.body.unwrap_or_default();
    if !matches!(response.status, 200 | 201) {
        return Err(Error::Authorization(format!(
            "registration refused ({}): {value}",
            response.status
        )));
    }
    let registered: Registered = serde_json::from_value(value)
        .map_err(|e| Error::Authorization(format!("malformed registration response: {e}")))?;
    // RFC 7591 §3.2.1: the server may change what we asked for; a secret we did not ask for is
    // a confidential client we cannot be.
    if registered
        .token_endpoint_auth_method
        .as_deref()
        .is_some_and(|m| m != "none")
    {
        return Err(Error::Authorization(
            "the server registered a confidential client; pass a public --client-id".into(),
        ));
    }
    Ok(registered.client_id)
}
