//! The token endpoint: code exchange (RFC 6749 §4.1.3 with RFC 7636 §4.5 and RFC 8707 §2.2),
//! refresh (RFC 6749 §6) and the error body (RFC 6749 §5.2).

use crate::Error;
use crate::http::{Http, JsonResponse};
use crate::secret::Secret;
use serde::Deserialize;
use url::Url;

/// RFC 6749 §5.1.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Must be `Bearer` (RFC 6750), compared case-insensitively.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: Option<u64>,
    /// A refresh token, when the server issues one.
    pub refresh_token: Option<String>,
    /// The granted scopes, when they differ from the request (RFC 6749 §5.1).
    pub scope: Option<String>,
}

/// RFC 6749 §5.2 error body.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorBody {
    /// The error code.
    pub error: String,
    /// Human-readable text.
    pub error_description: Option<String>,
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error_description {
            Some(d) => write!(f, "{} ({d})", self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// A token request's outcome: tokens, or the server's error code.
pub enum Outcome {
    /// `200` with a Bearer token.
    Tokens(TokenResponse),
    /// An RFC 6749 §5.2 error.
    Refused(ErrorBody),
}

/// Sends a token request and sorts the answer.
pub fn request(http: &Http, endpoint: &Url, params: &[(&str, &str)]) -> Result<Outcome, Error> {
    let response: JsonResponse<serde_json::Value> = http.post_form(endpoint, params)?;
    let body = response.body.ok_or_else(|| {
        Error::Authorization(format!(
            "the token endpoint answered {} without JSON",
            response.status
        ))
    })?;
    if response.status == 200 {
        let tokens: TokenResponse = serde_json::from_value(body)
            .map_err(|e| Error::Authorization(format!("malformed token response: {e}")))?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err(Error::Authorization(format!(
                "token_type {:?} is not Bearer",
                tokens.token_type
            )));
        }
        return Ok(Outcome::Tokens(tokens));
    }
    let error: ErrorBody = serde_json::from_value(body).map_err(|_| {
        Error::Authorization(format!("the token endpoint answered {}", response.status))
    })?;
    Ok(Outcome::Refused(error))
}

/// Exchanges an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707 §2.2).
pub fn exchange_code(
    http: &Http,
    endpoint: &Url,
    client_id: &str,
    code: &Secret,
    redirect_uri: &Url,
    verifier: &Secret,
    resource: &str,
) -> Result<TokenResponse, Error> {
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_verifier", verifier.expose_secret()),
        ("client_id", client_id),
        ("resource", resource),
    ];
    match request(http, endpoint, &params)? {
        Outcome::Tokens(t) => Ok(t),
        Outcome::Refused(e) => Err(Error::Authorization(format!("code exchange refused: {e}"))),
    }
}

/// Refreshes (RFC 6749 §6), naming the resource again (RFC 8707 §2.2).
pub fn refresh(
    http: &Http,
    endpoint: &Url,
    client_id: &str,
    refresh_token: &Secret,
    resource: &str,
) -> Result<Outcome, Error> {
    let params = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
        ("client_id", client_id),
        ("resource", resource),
    ];
    request(http, endpoint, &params)
}
