//! The error model: the OAuth error codes we send, the reasons we refuse, and the one mapping
//! between them.
//!
//! A rule refuses a request with a [`Reason`], which names exactly what was wrong and is logged
//! and asserted in tests. `From<Reason> for OAuthError` is the single auditable `match` that turns
//! a reason into the public [`ErrorCode`] (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7591
//! §3.2.2, RFC 8707 §2, RFC 8628 §3.5, RFC 7009 §2.2.1) and a fixed description. Descriptions
//! never echo input. HTTP headers (`WWW-Authenticate`, `Retry-After`, `Cache-Control`) are not
//! decided here but by the endpoints that know the context.

use std::fmt;

use serde::{Serialize, Serializer};

/// An error code from the IANA "OAuth Extensions Error Registry" (RFC 6749 §11.4). Exactly one
/// variant per code we send; serialized as its wire string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: missing, repeated or malformed parameter (RFC 6749 §4.1.2.1, §5.2).
    InvalidRequest,
    /// `invalid_client`: client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, revoked or not the
    /// client's (RFC 6749 §5.2).
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type (RFC 6749 §5.2).
    UnauthorizedClient,
    /// `unsupported_grant_type` (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// `invalid_scope`: the scope is invalid, unknown, malformed or wider than granted
    /// (RFC 6749 §4.1.2.1, §5.2).
    InvalidScope,
    /// `access_denied`: the resource owner or policy refused (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// `unsupported_response_type` (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// `server_error`: an unexpected condition on our side; never for client input
    /// (RFC 6749 §4.1.2.1).
    ServerError,
    /// `temporarily_unavailable`: storage down or migration mode (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// `invalid_target`: the `resource` is invalid, unknown or malformed (RFC 8707 §2).
    InvalidTarget,
    /// `invalid_token`: the access token is malformed, expired, revoked or invalid
    /// (RFC 6750 §3.1).
    InvalidToken,
    /// `insufficient_scope`: the token lacks a scope the request needs (RFC 6750 §3.1).
    InsufficientScope,
    /// `invalid_redirect_uri`: a registered redirect URI is invalid (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// `invalid_client_metadata`: other client metadata is invalid (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// `unsupported_token_type`: revocation of this token type is not supported (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// `authorization_pending`: the person has not finished the device flow yet (RFC 8628 §3.5).
    AuthorizationPending,
    /// `slow_down`: the device is polling too fast (RFC 8628 §3.5).
    SlowDown,
    /// `expired_token`: the device code expired (RFC 8628 §3.5).
    ExpiredToken,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `"invalid_request"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// The HTTP status of a direct (non-redirect) error response with this code.
    ///
    /// RFC 6749 §5.2: "The authorization server responds with an HTTP 400 (Bad Request) status
    /// code (unless specified otherwise)"; for `invalid_client` "the authorization server MUST
    /// respond with an HTTP 401 (Unauthorized) status code" when the client used the
    /// `Authorization` header, and we answer 401 in every case so the status does not depend on
    /// how the client tried. RFC 6750 §3.1: `invalid_token` → 401, `insufficient_scope` → 403.
    /// `temporarily_unavailable` and `server_error` carry the statuses their names stand for
    /// (RFC 6749 §4.1.2.1 defines them because 503 and 500 cannot travel in a redirect).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::InvalidScope
            | Self::AccessDenied
            | Self::UnsupportedResponseType
            | Self::InvalidTarget
            | Self::InvalidRedirectUri
            | Self::InvalidClientMetadata
            | Self::UnsupportedTokenType
            | Self::AuthorizationPending
            | Self::SlowDown
            | Self::ExpiredToken => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Why a request was refused. Logged and asserted in tests; never sent to the client (the client
/// sees only the [`ErrorCode`] and fixed description that [`OAuthError::from`] assigns).
///
/// One variant per distinct reason, so that a test that expects one refusal cannot pass because
/// of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The body is not valid `application/x-www-form-urlencoded` or JSON.
    MalformedBody,
    /// The body exceeds the endpoint's size limit.
    BodyTooLarge,
    /// A parameter appears more than once (RFC 6749 §3.1: "Request and response parameters MUST
    /// NOT be included more than once.").
    DuplicateParameter,
    /// A required parameter is absent.
    MissingParameter,
    /// A form endpoint received a body that is not `application/x-www-form-urlencoded`
    /// (RFC 6749 §3.2, §4.1.3).
    FormContentTypeRequired,
    /// The anti-CSRF token of one of our forms is missing or differs from the cookie's copy
    /// (RFC 6749 §10.12).
    CsrfMismatch,
    /// No `client_id` was presented.
    ClientIdMissing,
    /// The `client_id` is not 1 to 255 visible ASCII characters (RFC 6749 Appendix A.1).
    ClientIdMalformed,
    /// No client is registered under this `client_id`.
    ClientUnknown,
    /// The `Authorization: Basic` header or its credentials cannot be decoded (RFC 6749 §2.3.1).
    ClientAuthMalformed,
    /// The client used more than one authentication method (RFC 6749 §2.3: "The client MUST NOT
    /// use more than one authentication method in each request.").
    ClientAuthMultipleMethods,
    /// The client secret is missing or wrong.
    ClientAuthFailed,
    /// The client authenticated with a method other than the one it registered.
    ClientAuthMethodMismatch,
    /// A public client called an endpoint that only confidential clients may use (RFC 7662
    /// §2.1: "the endpoint MUST also require some form of authorization").
    IntrospectionNeedsConfidentialClient,
    /// Too many dynamic registrations from one source within the window.
    RegistrationRateLimited,
    /// The authorization request has no `redirect_uri` and the client registered more than one
    /// (RFC 6749 §3.1.2.3: "If multiple redirection URIs have been registered [...] the client
    /// MUST include a redirection URI with the authorization request").
    RedirectUriMissing,
    /// A redirect URI is not an absolute URI of the form the rules require (RFC 6749 §3.1.2).
    RedirectUriInvalid,
    /// A redirect URI is longer than we store.
    RedirectUriTooLong,
    /// A redirect URI contains a character outside RFC 3986 §2 (control characters, whitespace,
    /// backslashes, non-ASCII, ...).
    RedirectUriCharacterRefused,
    /// A redirect URI has a fragment (RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a
    /// fragment component.").
    RedirectUriHasFragment,
    /// A redirect URI carries user information (`user@host`).
    RedirectUriHasUserinfo,
    /// A redirect URI uses a scheme we never redirect to: one a browser handles itself
    /// (`javascript:`, `data:`, `file:`, `view-source:`, ...), a look-alike of `http(s)`, or a
    /// dotted scheme that is not a reverse domain name (RFC 8252 §7.1).
    RedirectUriForbiddenScheme,
    /// A confidential client registered a private-use scheme that is not a reverse domain name
    /// (`cursor:`): those are for public clients, protected by PKCE (RFC 8252 §8.1, §8.4).
    RedirectUriNeedsPublicClient,
    /// A client without the authorization code grant registered redirect URIs: it never
    /// receives a redirect (RFC 7591 §2 "redirect_uris" are for redirect-based flows).
    RedirectUrisWithoutCodeGrant,
    /// A redirect URI uses plain `http` for a host that is not a loopback address
    /// (OAuth 2.1 §2.3.1, RFC 8252 §7.3).
    RedirectUriInsecureHttp,
    /// The requested redirect URI matches none of the client's registered ones
    /// (RFC 6749 §3.1.2.3).
    RedirectUriMismatch,
    /// The authorization request has no `response_type` (RFC 6749 §4.1.1: REQUIRED).
    ResponseTypeMissing,
    /// The `response_type` is not `code`, the only one OAuth 2.1 keeps (RFC 6749 §4.1.2.1).
    ResponseTypeUnsupported,
    /// The authorization request has no `code_challenge` (RFC 7636 §4.4.1).
    PkceChallengeMissing,
    /// The client asked for the `plain` PKCE method, explicitly or by omitting the method
    /// (RFC 7636 §4.3 makes `plain` the default; we accept only `S256`, see `pkce`).
    PlainPkceRefused,
    /// The `code_challenge` is not 43 base64url characters, or the method is unknown
    /// (RFC 7636 §4.2).
    PkceChallengeMalformed,
    /// The token request has no `code_verifier` although the code was issued with a challenge.
    PkceVerifierMissing,
    /// The `code_verifier` is not 43 to 128 unreserved characters (RFC 7636 §4.1).
    PkceVerifierMalformed,
    /// The `code_verifier` does not hash to the stored challenge (RFC 7636 §4.6).
    PkceVerifierMismatch,
    /// The `scope` does not follow `scope-token *( SP scope-token )` (RFC 6749 §3.3).
    ScopeMalformed,
    /// The `scope` has more tokens or bytes than we accept.
    ScopeTooLarge,
    /// A requested scope is not offered by the app.
    ScopeNotOffered,
    /// A refresh asked for a scope the grant does not hold (RFC 6749 §6: "The requested scope
    /// MUST NOT include any scope not originally granted by the resource owner").
    ScopeWidened,
    /// The `resource` is not an absolute URI (RFC 8707 §2).
    ResourceMalformed,
    /// The `resource` has a fragment (RFC 8707 §2: "MUST NOT include a fragment component").
    ResourceHasFragment,
    /// The `resource` is neither `https` nor `http` on a loopback host.
    ResourceSchemeRefused,
    /// The `resource` names no protected app.
    ResourceUnknown,
    /// The `state` is not `1*VSCHAR` (RFC 6749 Appendix A.5).
    StateMalformed,
    /// The `state` is longer than we echo back.
    StateTooLong,
    /// No authorization code with this value exists.
    CodeUnknown,
    /// The authorization code expired (RFC 6749 §4.1.2).
    CodeExpired,
    /// The authorization code was already used (RFC 6749 §4.1.2: "The client MUST NOT use the
    /// authorization code more than once.").
    CodeReplayed,
    /// The authorization code was issued to another client (RFC 6749 §4.1.3).
    CodeIssuedToOtherClient,
    /// No refresh token with this value exists.
    RefreshTokenUnknown,
    /// A rotated-out refresh token was presented again (RFC 9700 §4.14.2).
    RefreshTokenReused,
    /// The refresh token expired.
    RefreshTokenExpired,
    /// The grant behind the code or token was revoked.
    GrantRevoked,
    /// The token request's `redirect_uri` differs from the authorization request's (RFC 6749
    /// §4.1.3: "their values MUST be identical").
    CodeRedirectUriMismatch,
    /// The app's policy no longer admits the person a grant was issued to (checked again on
    /// every token issuance).
    PolicyNoLongerAdmits,
    /// The app's policy does not admit this person or agent.
    PolicyDenied,
    /// The person declined on the consent page (RFC 6749 §4.1.2.1: "The resource owner or
    /// authorization server denied the request.").
    ConsentDenied,
    /// The `grant_type` is not one we support (RFC 6749 §5.2).
    GrantTypeUnsupported,
    /// The client did not register the grant type it used (RFC 7591 §2 `grant_types`; RFC 6749
    /// §5.2 `unauthorized_client`).
    GrantTypeNotRegistered,
    /// Client metadata other than redirect URIs is invalid (RFC 7591 §3.2.2).
    ClientMetadataInvalid,
    /// Client metadata shown to people (`client_name`, ...) contains a control, bidirectional,
    /// invisible or separator character (`registration::is_hidden_char`).
    ClientMetadataHiddenCharacter,
    /// The access token is not a well-formed JWT of ours (RFC 9068 §4).
    TokenMalformed,
    /// The access token's signature does not verify (RFC 9068 §4).
    TokenSignatureInvalid,
    /// The access token was issued by someone else (RFC 9068 §4).
    TokenIssuerMismatch,
    /// The access token expired (RFC 9068 §4).
    TokenExpired,
    /// A bearer token in the URL query string (RFC 6750 §2.3), refused as leaked
    /// (RFC 9700 §4.3.2).
    TokenInQuery,
    /// The app does not admit agents (its `agents` switch is off).
    AgentsNotAdmitted,
    /// The token is for another resource (RFC 9068 §4).
    TokenAudienceMismatch,
    /// The token's grant was revoked.
    TokenRevoked,
    /// The app's policy does not admit the token's person.
    TokenPolicyDenied,
    /// The token lacks the scope the route needs (RFC 6750 §3.1).
    InsufficientScope,
    /// A request path that origins can read otherwise than the gate (`//`, `;`, `%2F`, `%5C`,
    /// `%00`, a trailing dot or space, double encoding: `gatekeeper::path::check`).
    PathAmbiguous,
    /// A `GET` or `HEAD` with a body (RFC 9110 §9.3.1, §9.3.2).
    BodyOnGetOrHead,
    /// A request the runtime cannot send on to the origin (its Fetch refuses the method).
    NotForwardable,
    /// A person asked to revoke a grant that is not a live grant of theirs at this app.
    AgentNotFound,
    /// The admin API was called without `ADMIN_TOKEN` or `ADMINS` set: it does not exist.
    AdminApiOff,
    /// The admin API's bearer token is missing or wrong, or the session's person is no admin.
    AdminUnauthorized,
    /// An admin query named neither a person nor a client, nor `all=true`.
    AdminFilterRequired,
    /// An admin query's `since`, `until` or `limit` is not a number.
    AdminBadNumber,
    /// The admin console's grants filter has a value it does not know (`state`, `app`), or a
    /// revocation names more grants than one page lists.
    ConsoleBadFilter,
    /// The admin console's revoke form was sent with no grant checked.
    ConsoleNothingSelected,
    /// The admin console was opened by a browser with no live session (none, expired or
    /// ended): it signs in first.
    ConsoleSignInRequired,
    /// The admin console was opened by a signed-in person the `ADMINS` policy does not admit.
    ConsoleNotAdmin,
    /// Migration mode refuses writes that can wait.
    MigrationMode,
    /// No device code with this value was issued to this client for this app (RFC 8628 §3.5).
    DeviceCodeUnknown,
    /// The device code expired (RFC 8628 §3.5 `expired_token`).
    DeviceCodeExpired,
    /// Tokens were already issued for this device code: it is single use.
    DeviceCodeRedeemed,
    /// The person has not decided yet (RFC 8628 §3.5 `authorization_pending`).
    DeviceAuthorizationPending,
    /// The device polled sooner than the interval allows (RFC 8628 §3.5 `slow_down`).
    DevicePollingTooFast,
    /// The user code typed on the verification page matches no pending request here.
    UserCodeUnknown,
    /// The person typed too many wrong user codes recently (RFC 8628 §5.1: brute force).
    UserCodeGuessLimit,
    /// The login form named an upstream provider that is not configured.
    OidcProviderUnknown,
    /// The upstream callback carries no `state`.
    OidcStateMissing,
    /// The upstream callback's `state` was never issued (or not by this server).
    OidcStateUnknown,
    /// The upstream callback's `state` was used before: a replayed callback.
    OidcStateReplayed,
    /// The upstream login took longer than the state lives.
    OidcStateExpired,
    /// The upstream callback reached another browser (or app) than the one that started the
    /// login (RFC 9700 §4.7.1, login CSRF).
    OidcStateBrowserMismatch,
    /// The provider answered with an error: the person cancelled, or was refused there
    /// (OpenID Connect Core §3.1.2.6).
    UpstreamDenied,
    /// The authorization response's `iss` is not the provider's, or is missing although the
    /// provider promises it (RFC 9207 §2.4).
    UpstreamIssuerMismatch,
    /// The authorization response has no `code`.
    UpstreamCodeMissing,
    /// The provider's token endpoint refused the code.
    UpstreamTokenRefused,
    /// The provider could not be reached, or its discovery document, JWK Set or token answer
    /// is unusable.
    UpstreamUnavailable,
    /// The ID token is not a well-formed JWS with the claims required (Core §2).
    IdTokenMalformed,
    /// The ID token is signed with an algorithm other than RS256 or ES256.
    IdTokenAlgorithmRefused,
    /// No key of the provider's JWK Set, even refetched, matches the ID token's `kid`.
    IdTokenKeyUnknown,
    /// The ID token's signature does not verify (Core §3.1.3.7 item 6).
    IdTokenSignatureInvalid,
    /// The ID token's `iss` is not the provider's (Core §3.1.3.7 item 2).
    IdTokenIssuerMismatch,
    /// The ID token is not for gatehouse's client (`aud`, `azp`; Core §3.1.3.7 items 3–5).
    IdTokenAudienceMismatch,
    /// The ID token expired or was issued in the future (Core §3.1.3.7 items 9–10).
    IdTokenExpired,
    /// The ID token's `nonce` is not the one sent (Core §3.1.3.7 item 11).
    IdTokenNonceMismatch,
    /// The ID token carries no usable `email`.
    UpstreamEmailMissing,
    /// The provider did not vouch for the email (`email_verified`, Core §5.1).
    UpstreamEmailUnverified,
    /// The email's domain is not among the provider's `allowed_domains`.
    UpstreamDomainRefused,
    /// A `client_id` is a metadata document URL, but the operator turned them off (`CIMD=off`).
    CimdDisabled,
    /// A metadata document URL breaks the draft's §3 rules (https, a path, no fragment, no
    /// dot segments, no userinfo, canonical form).
    CimdUrlInvalid,
    /// A metadata document URL, or a redirect from it, points at a loopback, private,
    /// link-local or otherwise internal address (SSRF; draft §6.5). Never fetched.
    CimdAddressRefused,
    /// The operator's `CIMD_ALLOWED_HOSTS` / `CIMD_DENIED_HOSTS` refuse the document's host.
    CimdHostNotAllowed,
    /// The document could not be fetched: network error, timeout, status other than 200, too
    /// many redirects.
    CimdFetchFailed,
    /// The document is not valid client metadata (not JSON, too large, a secret, a refused
    /// auth method or grant type).
    CimdDocumentInvalid,
    /// The document's `client_id` is not the URL it was fetched from (draft §4.1).
    CimdClientIdMismatch,
    /// A `client_assertion` is malformed, of the wrong type, expired, not yet valid, or names
    /// another client (RFC 7523 §3).
    ClientAssertionInvalid,
    /// A `client_assertion`'s `aud` names neither the token endpoint nor the issuer
    /// (RFC 7523 §3 item 3).
    ClientAssertionAudience,
    /// A `client_assertion`'s signature verifies with none of the client's keys.
    ClientAssertionSignature,
    /// A `client_assertion`'s `jti` was used before (RFC 7523 §3 item 7).
    ClientAssertionReplayed,
    /// The request's URL is not an `http` or `https` URL.
    NotHttpUrl,
    /// No endpoint of gatehouse's is at this path (the reply's status is `404`).
    EndpointUnknown,
    /// The endpoint does not serve this method (the reply's status is `405`, with `Allow`).
    MethodNotAllowed,
    /// Access's `get-identity` endpoint was asked without a live browser session.
    AccessSessionMissing,
    /// The app's origin did not answer a forwarded request (the reply's status is `502`).
    OriginUnreachable,
    /// The operator's configuration is invalid: the detail goes to the log and the admin health
    /// view only, never to the public (a misconfiguration can name secrets' shapes and hosts).
    Misconfigured,
    /// Storage did not answer; the client may retry.
    StoreUnavailable,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A refusal: the public code and description, plus the private reason for logs and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The code sent as `error`.
    pub code: ErrorCode,
    /// The fixed text sent as `error_description`; never contains request input.
    pub description: &'static str,
    /// Why the request was refused; logged, never sent.
    pub reason: Reason,
}

impl OAuthError {
    /// The HTTP status of a direct error response (see [`ErrorCode::status`]).
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body of a direct error response (RFC 6749 §5.2).
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code,
            error_description: self.description,
        }
    }

    /// The JSON body as text, e.g. `{"error":"invalid_request","error_description":"..."}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body()).unwrap_or_else(|_| {
            // Serializing two static strings cannot fail; answer something valid regardless.
            String::from(r#"{"error":"server_error"}"#)
        })
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.code, self.description, self.reason)
    }
}

impl std::error::Error for OAuthError {}

/// The body of a direct error response: `{"error": "...", "error_description": "..."}`
/// (RFC 6749 §5.2, RFC 7591 §3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The error code.
    pub error: ErrorCode,
    /// The fixed, human-readable description.
    pub error_description: &'static str,
}

/// Descriptions shared by reasons that must look alike from outside, so that a client cannot
/// tell which check failed (e.g. whether a stolen code exists but belongs to another client).
const CODE_REFUSED: &str = "the authorization code is invalid, expired, or was already used";
const REFRESH_REFUSED: &str = "the refresh token is invalid, expired, or revoked";
const TOKEN_REFUSED: &str = "the access token is invalid";
const LOGIN_RESTART: &str = "this login link expired, was already used, or was opened in another browser; please start again";
const UPSTREAM_REFUSED: &str =
    "the answer of the identity provider could not be verified; please start again";

impl From<Reason> for OAuthError {
    /// The single mapping from reason to public code and description.
    fn from(reason: Reason) -> Self {
        use ErrorCode as C;
        use Reason as R;
        let (code, description) = match reason {
            R::MalformedBody => (C::InvalidRequest, "the request body is malformed"),
            R::BodyTooLarge => (C::InvalidRequest, "the request body is too large"),
            R::DuplicateParameter => (C::InvalidRequest, "a parameter was repeated"),
            R::MissingParameter => (C::InvalidRequest, "a required parameter is missing"),
            R::FormContentTypeRequired => (
                C::InvalidRequest,
                "the body must be application/x-www-form-urlencoded",
            ),
            R::CsrfMismatch => (C::InvalidRequest, "the form expired; please try again"),
            R::ClientIdMissing => (C::InvalidClient, "client_id is missing"),
            R::ClientIdMalformed => (C::InvalidClient, "client_id is malformed"),
            R::ClientUnknown => (C::InvalidClient, "the client is unknown"),
            R::ClientAuthMalformed => (C::InvalidClient, "the client credentials are malformed"),
            R::ClientAuthMultipleMethods => (
                C::InvalidRequest,
                "more than one client authentication method was used",
            ),
            R::ClientAuthFailed => (C::InvalidClient, "client authentication failed"),
            R::ClientAuthMethodMismatch => (
                C::InvalidClient,
                "the client authentication method differs from the registered one",
            ),
            R::IntrospectionNeedsConfidentialClient => (
                C::InvalidClient,
                "only confidential clients may use this endpoint",
            ),
            R::RegistrationRateLimited => (
                C::TemporarilyUnavailable,
                "too many registrations; try again later",
            ),
            R::RedirectUriInvalid => (
                C::InvalidRedirectUri,
                "redirect_uri must be an absolute URI",
            ),
            R::RedirectUriMissing => (C::InvalidRequest, "redirect_uri is required"),
            R::RedirectUriTooLong => (C::InvalidRedirectUri, "redirect_uri is too long"),
            R::RedirectUriCharacterRefused => (
                C::InvalidRedirectUri,
                "redirect_uri contains a character that is not allowed in a URI",
            ),
            R::RedirectUriHasFragment => (
                C::InvalidRedirectUri,
                "redirect_uri must not contain a fragment",
            ),
            R::RedirectUriHasUserinfo => (
                C::InvalidRedirectUri,
                "redirect_uri must not contain user information",
            ),
            R::RedirectUriForbiddenScheme => (
                C::InvalidRedirectUri,
                "redirect_uri must use https, http on a loopback address, or an app's private-use scheme",
            ),
            R::RedirectUriNeedsPublicClient => (
                C::InvalidRedirectUri,
                "a private-use redirect_uri scheme that is not a reverse domain name needs token_endpoint_auth_method none",
            ),
            R::RedirectUrisWithoutCodeGrant => (
                C::InvalidRedirectUri,
                "redirect_uris are registered only with the authorization_code grant type",
            ),
            R::RedirectUriInsecureHttp => (
                C::InvalidRedirectUri,
                "redirect_uri may use http only for a loopback address",
            ),
            R::RedirectUriMismatch => (
                C::InvalidRequest,
                "redirect_uri does not match a registered redirect URI",
            ),
            R::ResponseTypeUnsupported => (
                C::UnsupportedResponseType,
                "only response_type=code is supported",
            ),
            R::ResponseTypeMissing => (C::InvalidRequest, "response_type is required"),
            R::PkceChallengeMissing => (C::InvalidRequest, "code_challenge is required"),
            R::PlainPkceRefused => (C::InvalidRequest, "code_challenge_method must be S256"),
            R::PkceChallengeMalformed => (C::InvalidRequest, "code_challenge is malformed"),
            R::PkceVerifierMissing => (C::InvalidRequest, "code_verifier is required"),
            R::PkceVerifierMalformed => (C::InvalidRequest, "code_verifier is malformed"),
            R::PkceVerifierMismatch => (
                C::InvalidGrant,
                "code_verifier does not match the code_challenge",
            ),
            R::ScopeMalformed => (C::InvalidScope, "scope is malformed"),
            R::ScopeTooLarge => (C::InvalidScope, "scope lists too many scopes"),
            R::ScopeNotOffered => (C::InvalidScope, "a requested scope is not offered"),
            R::ScopeWidened => (
                C::InvalidScope,
                "the requested scope exceeds the granted scope",
            ),
            R::ResourceMalformed => (C::InvalidTarget, "resource must be an absolute URI"),
            R::ResourceHasFragment => (C::InvalidTarget, "resource must not contain a fragment"),
            R::ResourceSchemeRefused => (
                C::InvalidTarget,
                "resource must use https, or http on a loopback address",
            ),
            R::ResourceUnknown => (
                C::InvalidTarget,
                "resource is not a protected resource here",
            ),
            R::StateMalformed => (C::InvalidRequest, "state is malformed"),
            R::StateTooLong => (C::InvalidRequest, "state is too long"),
            R::CodeUnknown | R::CodeExpired | R::CodeReplayed | R::CodeIssuedToOtherClient => {
                (C::InvalidGrant, CODE_REFUSED)
            }
            R::RefreshTokenUnknown | R::RefreshTokenReused | R::RefreshTokenExpired => {
                (C::InvalidGrant, REFRESH_REFUSED)
            }
            R::GrantRevoked => (C::InvalidGrant, "the grant was revoked"),
            R::CodeRedirectUriMismatch => (
                C::InvalidGrant,
                "redirect_uri does not match the authorization request",
            ),
            R::PolicyNoLongerAdmits => (C::InvalidGrant, "the app no longer admits this person"),
            R::PolicyDenied => (C::AccessDenied, "access denied by policy"),
            R::ConsentDenied => (C::AccessDenied, "the user denied the request"),
            R::GrantTypeUnsupported => (C::UnsupportedGrantType, "grant_type is not supported"),
            R::GrantTypeNotRegistered => (
                C::UnauthorizedClient,
                "the client is not registered for this grant_type",
            ),
            R::ClientMetadataInvalid => (C::InvalidClientMetadata, "client metadata is invalid"),
            R::ClientMetadataHiddenCharacter => (
                C::InvalidClientMetadata,
                "client metadata contains an invisible or direction-changing character",
            ),
            R::TokenMalformed | R::TokenSignatureInvalid | R::TokenIssuerMismatch => {
                (C::InvalidToken, TOKEN_REFUSED)
            }
            R::TokenExpired => (C::InvalidToken, "the access token expired"),
            R::TokenInQuery => (
                C::InvalidRequest,
                "access tokens in the query string are refused",
            ),
            R::AgentsNotAdmitted => (C::InvalidToken, "this app does not admit agents"),
            R::TokenAudienceMismatch => {
                (C::InvalidToken, "the access token is for another resource")
            }
            R::TokenRevoked => (C::InvalidToken, "the access token was revoked"),
            R::TokenPolicyDenied => (C::InvalidToken, "the app does not admit this person"),
            R::InsufficientScope => (
                C::InsufficientScope,
                "the access token lacks the scope this request needs",
            ),
            R::PathAmbiguous => (
                C::InvalidRequest,
                "the path has a form origins read in different ways",
            ),
            R::BodyOnGetOrHead => (C::InvalidRequest, "a GET or HEAD request has no body"),
            R::NotForwardable => (
                C::InvalidRequest,
                "this request cannot be forwarded to the app",
            ),
            R::AgentNotFound => (C::InvalidRequest, "no such connected agent"),
            R::AdminApiOff => (C::InvalidRequest, "no such endpoint"),
            R::AdminUnauthorized => (C::InvalidToken, "the admin token is missing or wrong"),
            R::AdminFilterRequired => (
                C::InvalidRequest,
                "name a subject or a client_id, or say all=true",
            ),
            R::AdminBadNumber => (
                C::InvalidRequest,
                "since, until and limit are whole numbers",
            ),
            R::ConsoleBadFilter => (
                C::InvalidRequest,
                "state is live, revoked or any; app is this or all; at most 500 grants at once",
            ),
            R::ConsoleNothingSelected => (C::InvalidRequest, "no grant was selected"),
            R::ConsoleSignInRequired => (C::InvalidToken, "sign in first"),
            R::ConsoleNotAdmin => (
                C::AccessDenied,
                "your account is not an administrator of gatehouse",
            ),
            R::DeviceCodeUnknown | R::DeviceCodeRedeemed => (
                C::InvalidGrant,
                "the device code is invalid or was already used",
            ),
            R::DeviceCodeExpired => (C::ExpiredToken, "the device code expired"),
            R::DeviceAuthorizationPending => (
                C::AuthorizationPending,
                "the user has not yet approved the request",
            ),
            R::DevicePollingTooFast => (C::SlowDown, "polling too fast; wait longer between polls"),
            R::UserCodeUnknown => (C::InvalidRequest, "the code is wrong or has expired"),
            R::UserCodeGuessLimit => (C::InvalidRequest, "too many wrong codes; try again later"),
            R::OidcProviderUnknown => (C::InvalidRequest, "no such identity provider"),
            R::OidcStateMissing
            | R::OidcStateUnknown
            | R::OidcStateReplayed
            | R::OidcStateExpired
            | R::OidcStateBrowserMismatch => (C::InvalidRequest, LOGIN_RESTART),
            R::UpstreamDenied => (
                C::AccessDenied,
                "the identity provider did not log you in (the login was cancelled or refused there)",
            ),
            R::UpstreamIssuerMismatch
            | R::UpstreamCodeMissing
            | R::UpstreamTokenRefused
            | R::IdTokenMalformed
            | R::IdTokenAlgorithmRefused
            | R::IdTokenKeyUnknown
            | R::IdTokenSignatureInvalid
            | R::IdTokenIssuerMismatch
            | R::IdTokenAudienceMismatch
            | R::IdTokenExpired
            | R::IdTokenNonceMismatch => (C::AccessDenied, UPSTREAM_REFUSED),
            R::UpstreamUnavailable => (
                C::TemporarilyUnavailable,
                "the identity provider cannot be reached right now; please try again in a minute",
            ),
            R::UpstreamEmailMissing => (
                C::AccessDenied,
                "the identity provider did not share your email address",
            ),
            R::UpstreamEmailUnverified => (
                C::AccessDenied,
                "the identity provider has not verified your email address",
            ),
            R::UpstreamDomainRefused => (
                C::AccessDenied,
                "accounts of your email domain cannot log in through this identity provider",
            ),
            R::CimdDisabled => (
                C::InvalidClient,
                "client ID metadata documents are not accepted here; register the client",
            ),
            R::CimdUrlInvalid => (
                C::InvalidClient,
                "the client_id URL must be a canonical https URL with a path, without fragment or userinfo",
            ),
            R::CimdAddressRefused => (
                C::InvalidClient,
                "the client_id URL points at a local or private address; it was not fetched",
            ),
            R::CimdHostNotAllowed => (
                C::InvalidClient,
                "client ID metadata documents from this host are not accepted here",
            ),
            R::CimdFetchFailed => (
                C::InvalidClient,
                "the client ID metadata document could not be fetched",
            ),
            R::CimdDocumentInvalid => (
                C::InvalidClient,
                "the client ID metadata document is not valid client metadata",
            ),
            R::CimdClientIdMismatch => (
                C::InvalidClient,
                "the client ID metadata document names another client_id",
            ),
            R::ClientAssertionInvalid
            | R::ClientAssertionAudience
            | R::ClientAssertionSignature
            | R::ClientAssertionReplayed => (
                C::InvalidClient,
                "the client assertion is invalid, expired, or was already used",
            ),
            R::NotHttpUrl => (C::InvalidRequest, "not an http(s) URL"),
            R::EndpointUnknown => (C::InvalidRequest, "no such endpoint"),
            R::MethodNotAllowed => (C::InvalidRequest, "method not allowed"),
            R::AccessSessionMissing => (C::InvalidToken, "no session: log in at this app first"),
            R::OriginUnreachable => (C::TemporarilyUnavailable, "the app's origin did not answer"),
            R::Misconfigured => (
                C::TemporarilyUnavailable,
                "gatehouse cannot serve this request until its operator fixes its configuration; the reference in the response lets them find the cause",
            ),
            R::StoreUnavailable => (
                C::TemporarilyUnavailable,
                "the service is temporarily unavailable",
            ),
            R::MigrationMode => (
                C::TemporarilyUnavailable,
                "gatehouse is in maintenance (migration mode) and accepts no new logins, consents or registrations; retry after the time Retry-After gives",
            ),
        };
        Self {
            code,
            description,
            reason,
        }
    }
}

/// A misconfiguration: which setting, what is wrong with it, and how to fix it. Raised while
/// `crate::config` reads the settings (each feature reads its own), on the first request of an
/// isolate, never later in the middle of a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable or secret at fault, e.g. `APPS`.
    pub setting: &'static str,
    /// What is wrong.
    pub problem: String,
    /// What the operator should do.
    pub fix: &'static str,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "configuration error in {}: {}. Fix: {}",
            self.setting, self.problem, self.fix
        )
    }
}

#[cfg(test)]
mod tests;
