//! Token introspection responses (RFC 7662 §2.2).

use serde::Serialize;

use crate::access_token::AccessTokenClaims;
use crate::client_auth::AuthenticatedClient;
use crate::context::Context;
use crate::error::Reason;
use crate::failure::Failure;
use crate::form::Form;
use crate::jose::signer::Signer;
use crate::rng::Rng;
use crate::store::{GrantRecord, Store};

/// The introspection response. Inactive tokens carry nothing but `active: false` (§2.2: "the
/// authorization server MUST NOT include any additional information about an inactive token").
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is valid now.
    pub active: bool,
    /// Space-separated scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The person's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Issued at (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// The person's subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The audience: the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The token id (access tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The grant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

impl Introspection {
    /// `{"active": false}`.
    pub fn inactive() -> Self {
        Self::default()
    }

    /// An active access token.
    pub fn of_access_token(claims: AccessTokenClaims) -> Self {
        Self {
            active: true,
            scope: Some(claims.scope),
            client_id: Some(claims.client_id),
            username: Some(claims.email),
            token_type: Some("Bearer"),
            exp: Some(claims.exp),
            iat: Some(claims.iat),
            sub: Some(claims.sub),
            aud: Some(claims.aud),
            iss: Some(claims.iss),
            jti: Some(claims.jti),
            grant_id: Some(claims.grant_id),
        }
    }

    /// An active refresh token.
    pub fn of_refresh_token(grant: &GrantRecord, issuer: &str) -> Self {
        Self {
            active: true,
            scope: Some(grant.scopes.to_string()),
            client_id: Some(grant.client_id.as_str().to_owned()),
            username: Some(grant.person.email.clone()),
            token_type: Some("refresh_token"),
            sub: Some(grant.person.subject.clone()),
            aud: Some(grant.app.clone()),
            iss: Some(issuer.to_owned()),
            grant_id: Some(grant.grant_id.as_str().to_owned()),
            ..Self::default()
        }
    }
}

/// `POST /oauth/introspect` (RFC 7662 §2) of an authenticated client's form. Only confidential
/// clients may ask, and only about their own tokens: anything else is `{"active": false}`
/// (§2.2).
pub(crate) async fn introspect<S: Store, K: Signer, R: Rng>(
    cx: &Context<'_, S, K, R>,
    form: &Form,
    client: &AuthenticatedClient,
) -> Result<Introspection, Failure> {
    if !client
        .record()
        .metadata
        .token_endpoint_auth_method
        .is_confidential()
    {
        return Err(Reason::IntrospectionNeedsConfidentialClient.into());
    }
    let token = form.require("token")?;
    let Some(grant) = crate::grants::live::grant_of_token(cx, token, client).await? else {
        return Ok(Introspection::inactive());
    };
    if grant.revoked_at.is_some() || !crate::policy::admits(&cx.site, &grant.person) {
        return Ok(Introspection::inactive());
    }
    Ok(
        match crate::access_token::verify(cx.signer, token, &cx.site.issuer, cx.now).await {
            Ok(claims) => Introspection::of_access_token(claims),
            Err(_) => Introspection::of_refresh_token(&grant, &cx.site.issuer),
        },
    )
}
