use super::*;

/// Every code with its wire string and status; each row cites where the code is defined.
const CODES: [(ErrorCode, &str, u16, &str); 19] = [
    (
        ErrorCode::InvalidRequest,
        "invalid_request",
        400,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::InvalidClient,
        "invalid_client",
        401,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::InvalidGrant,
        "invalid_grant",
        400,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::UnauthorizedClient,
        "unauthorized_client",
        400,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::UnsupportedGrantType,
        "unsupported_grant_type",
        400,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::InvalidScope,
        "invalid_scope",
        400,
        "RFC 6749 §5.2",
    ),
    (
        ErrorCode::AccessDenied,
        "access_denied",
        400,
        "RFC 6749 §4.1.2.1",
    ),
    (
        ErrorCode::UnsupportedResponseType,
        "unsupported_response_type",
        400,
        "RFC 6749 §4.1.2.1",
    ),
    (
        ErrorCode::ServerError,
        "server_error",
        500,
        "RFC 6749 §4.1.2.1",
    ),
    (
        ErrorCode::TemporarilyUnavailable,
        "temporarily_unavailable",
        503,
        "RFC 6749 §4.1.2.1",
    ),
    (
        ErrorCode::InvalidTarget,
        "invalid_target",
        400,
        "RFC 8707 §2",
    ),
    (
        ErrorCode::InvalidToken,
        "invalid_token",
        401,
        "RFC 6750 §3.1",
    ),
    (
        ErrorCode::InsufficientScope,
        "insufficient_scope",
        403,
        "RFC 6750 §3.1",
    ),
    (
        ErrorCode::InvalidRedirectUri,
        "invalid_redirect_uri",
        400,
        "RFC 7591 §3.2.2",
    ),
    (
        ErrorCode::InvalidClientMetadata,
        "invalid_client_metadata",
        400,
        "RFC 7591 §3.2.2",
    ),
    (
        ErrorCode::UnsupportedTokenType,
        "unsupported_token_type",
        400,
        "RFC 7009 §2.2.1",
    ),
    (
        ErrorCode::AuthorizationPending,
        "authorization_pending",
        400,
        "RFC 8628 §3.5",
    ),
    (ErrorCode::SlowDown, "slow_down", 400, "RFC 8628 §3.5"),
    (
        ErrorCode::ExpiredToken,
        "expired_token",
        400,
        "RFC 8628 §3.5",
    ),
];

#[test]
fn every_code_has_its_registered_wire_string_and_status() {
    for (code, wire, status, section) in CODES {
        assert_eq!(code.as_str(), wire, "{section}");
        assert_eq!(code.status(), status, "{section}");
        assert_eq!(code.to_string(), wire, "{section}");
        assert_eq!(
            serde_json::to_value(code).unwrap(),
            serde_json::Value::from(wire),
            "{section}"
        );
    }
}

#[test]
fn wire_strings_are_distinct() {
    let mut wires: Vec<&str> = CODES.iter().map(|row| row.1).collect();
    wires.sort_unstable();
    wires.dedup();
    assert_eq!(wires.len(), CODES.len());
}

/// The code each reason must produce, with the section that names that code for that failure.
/// An exhaustive `match` (no wildcard) so that a new reason cannot be added without a row here.
fn expected_code(reason: Reason) -> (ErrorCode, &'static str) {
    use ErrorCode as C;
    use Reason as R;
    match reason {
        R::MalformedBody => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::BodyTooLarge => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::DuplicateParameter => (C::InvalidRequest, "RFC 6749 §5.2: repeats a parameter"),
        R::MissingParameter => (
            C::InvalidRequest,
            "RFC 6749 §5.2: missing a required parameter",
        ),
        R::ClientIdMissing => (C::InvalidClient, "RFC 6749 §5.2: no client authentication"),
        R::ClientIdMalformed => (C::InvalidClient, "RFC 6749 §5.2: unknown client"),
        R::ClientUnknown => (C::InvalidClient, "RFC 6749 §5.2: unknown client"),
        R::ClientAuthMalformed => (C::InvalidClient, "RFC 6749 §5.2: authentication failed"),
        R::ClientAuthMultipleMethods => {
            (C::InvalidRequest, "RFC 6749 §5.2: more than one mechanism")
        }
        R::ClientAuthFailed => (C::InvalidClient, "RFC 6749 §5.2"),
        R::ClientAuthMethodMismatch => (C::InvalidClient, "RFC 6749 §5.2: unsupported method"),
        R::RedirectUriInvalid => (C::InvalidRedirectUri, "RFC 7591 §3.2.2"),
        R::RedirectUriTooLong => (C::InvalidRedirectUri, "RFC 7591 §3.2.2"),
        R::RedirectUriCharacterRefused => (C::InvalidRedirectUri, "RFC 7591 §3.2.2"),
        R::RedirectUriHasFragment => (C::InvalidRedirectUri, "RFC 7591 §3.2.2, RFC 6749 §3.1.2"),
        R::RedirectUriHasUserinfo => (C::InvalidRedirectUri, "RFC 7591 §3.2.2"),
        R::RedirectUriForbiddenScheme => (C::InvalidRedirectUri, "RFC 7591 §3.2.2, RFC 8252 §7.1"),
        R::RedirectUriNeedsPublicClient => {
            (C::InvalidRedirectUri, "RFC 7591 §3.2.2, RFC 8252 §8.4")
        }
        R::RedirectUrisWithoutCodeGrant => (C::InvalidRedirectUri, "RFC 7591 §2 redirect_uris"),
        R::RedirectUriInsecureHttp => (C::InvalidRedirectUri, "RFC 7591 §3.2.2, RFC 8252 §7.3"),
        R::RedirectUriMismatch => (
            C::InvalidRequest,
            "RFC 6749 §4.1.2.1: shown, never redirected",
        ),
        R::ResponseTypeUnsupported => (C::UnsupportedResponseType, "RFC 6749 §4.1.2.1"),
        R::PkceChallengeMissing => (C::InvalidRequest, "RFC 7636 §4.4.1"),
        R::PlainPkceRefused => (C::InvalidRequest, "RFC 7636 §4.4.1"),
        R::PkceChallengeMalformed => (C::InvalidRequest, "RFC 7636 §4.4.1"),
        R::PkceVerifierMissing => (
            C::InvalidRequest,
            "RFC 6749 §5.2: missing a required parameter",
        ),
        R::PkceVerifierMalformed => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::PkceVerifierMismatch => (C::InvalidGrant, "RFC 7636 §4.6"),
        R::ScopeMalformed => (C::InvalidScope, "RFC 6749 §4.1.2.1: malformed"),
        R::ScopeTooLarge => (C::InvalidScope, "RFC 6749 §4.1.2.1: invalid"),
        R::ScopeNotOffered => (C::InvalidScope, "RFC 6749 §4.1.2.1: unknown"),
        R::ScopeWidened => (C::InvalidScope, "RFC 6749 §5.2: exceeds the scope granted"),
        R::ResourceMalformed => (C::InvalidTarget, "RFC 8707 §2"),
        R::ResourceHasFragment => (C::InvalidTarget, "RFC 8707 §2"),
        R::ResourceSchemeRefused => (C::InvalidTarget, "RFC 8707 §2"),
        R::ResourceUnknown => (C::InvalidTarget, "RFC 8707 §2"),
        R::StateMalformed => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::StateTooLong => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::CodeUnknown => (C::InvalidGrant, "RFC 6749 §5.2: invalid"),
        R::CodeExpired => (C::InvalidGrant, "RFC 6749 §5.2: expired"),
        R::CodeReplayed => (C::InvalidGrant, "RFC 6749 §5.2: invalid"),
        R::CodeIssuedToOtherClient => (C::InvalidGrant, "RFC 6749 §5.2: issued to another client"),
        R::RefreshTokenUnknown => (C::InvalidGrant, "RFC 6749 §5.2: invalid"),
        R::RefreshTokenReused => (C::InvalidGrant, "RFC 6749 §5.2: revoked"),
        R::RefreshTokenExpired => (C::InvalidGrant, "RFC 6749 §5.2: expired"),
        R::GrantRevoked => (C::InvalidGrant, "RFC 6749 §5.2: revoked"),
        R::CodeRedirectUriMismatch => (
            C::InvalidGrant,
            "RFC 6749 §5.2: does not match the redirection URI",
        ),
        R::PolicyNoLongerAdmits => (C::InvalidGrant, "RFC 6749 §5.2: revoked"),
        R::PolicyDenied => (C::AccessDenied, "RFC 6749 §4.1.2.1"),
        R::GrantTypeUnsupported => (C::UnsupportedGrantType, "RFC 6749 §5.2"),
        R::ClientMetadataInvalid => (C::InvalidClientMetadata, "RFC 7591 §3.2.2"),
        R::ClientMetadataHiddenCharacter => (C::InvalidClientMetadata, "RFC 7591 §3.2.2"),
        R::TokenMalformed => (C::InvalidToken, "RFC 6750 §3.1"),
        R::TokenSignatureInvalid => (C::InvalidToken, "RFC 6750 §3.1"),
        R::TokenIssuerMismatch => (C::InvalidToken, "RFC 6750 §3.1"),
        R::TokenExpired => (C::InvalidToken, "RFC 6750 §3.1: expired"),
        R::FormContentTypeRequired => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::CsrfMismatch => (C::InvalidRequest, "RFC 6749 §10.12"),
        R::IntrospectionNeedsConfidentialClient => (C::InvalidClient, "RFC 7662 §2.3"),
        R::RegistrationRateLimited => (C::TemporarilyUnavailable, "RFC 6749 §4.1.2.1: try later"),
        R::RedirectUriMissing => (
            C::InvalidRequest,
            "RFC 6749 §4.1.2.1: missing, not redirected",
        ),
        R::ResponseTypeMissing => (C::InvalidRequest, "RFC 6749 §4.1.2.1: missing parameter"),
        R::ConsentDenied => (
            C::AccessDenied,
            "RFC 6749 §4.1.2.1: the resource owner denied",
        ),
        R::GrantTypeNotRegistered => (C::UnauthorizedClient, "RFC 6749 §5.2"),
        R::TokenInQuery => (
            C::InvalidRequest,
            "RFC 6750 §3.1: uses more than one method",
        ),
        R::AgentsNotAdmitted => (C::InvalidToken, "RFC 6750 §3.1"),
        R::TokenAudienceMismatch => (C::InvalidToken, "RFC 6750 §3.1, RFC 9068 §4"),
        R::TokenRevoked => (C::InvalidToken, "RFC 6750 §3.1: revoked"),
        R::TokenPolicyDenied => (C::InvalidToken, "RFC 6750 §3.1"),
        R::InsufficientScope => (C::InsufficientScope, "RFC 6750 §3.1"),
        R::PathAmbiguous => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::BodyOnGetOrHead => (C::InvalidRequest, "RFC 9110 §9.3.1"),
        R::NotForwardable => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::AgentNotFound => (C::InvalidRequest, "RFC 6749 §5.2"),
        R::AdminApiOff => (C::InvalidRequest, "RFC 6749 §5.2"),
        R::AdminUnauthorized => (C::InvalidToken, "RFC 6750 §3.1"),
        R::AdminFilterRequired => (C::InvalidRequest, "RFC 6749 §5.2"),
        R::AdminBadNumber => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::ConsoleBadFilter => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::ConsoleSignInRequired => (C::InvalidToken, "RFC 6750 §3.1: no valid credentials"),
        R::ConsoleNotAdmin => (C::AccessDenied, "RFC 6749 §4.1.2.1: access denied"),
        R::ConsoleNothingSelected => (
            C::InvalidRequest,
            "RFC 6749 §5.2: missing a required parameter",
        ),
        R::MigrationMode => (
            C::TemporarilyUnavailable,
            "RFC 6749 §4.1.2.1: temporarily_unavailable",
        ),
        R::DeviceCodeUnknown => (C::InvalidGrant, "RFC 8628 §3.5, RFC 6749 §5.2: invalid"),
        R::DeviceCodeExpired => (C::ExpiredToken, "RFC 8628 §3.5"),
        R::DeviceCodeRedeemed => (C::InvalidGrant, "RFC 6749 §5.2: invalid"),
        R::DeviceAuthorizationPending => (C::AuthorizationPending, "RFC 8628 §3.5"),
        R::DevicePollingTooFast => (C::SlowDown, "RFC 8628 §3.5"),
        R::UserCodeUnknown => (C::InvalidRequest, "RFC 8628 §3.3 (shown on a page)"),
        R::UserCodeGuessLimit => (C::InvalidRequest, "RFC 8628 §5.1 (shown on a page)"),
        R::OidcProviderUnknown => (C::InvalidRequest, "a form field names nothing configured"),
        R::OidcStateMissing => (
            C::InvalidRequest,
            "RFC 6749 §10.12: the state does not match",
        ),
        R::OidcStateUnknown => (
            C::InvalidRequest,
            "RFC 6749 §10.12: the state does not match",
        ),
        R::OidcStateReplayed => (
            C::InvalidRequest,
            "RFC 6749 §10.12: the state does not match",
        ),
        R::OidcStateExpired => (
            C::InvalidRequest,
            "RFC 6749 §10.12: the state does not match",
        ),
        R::OidcStateBrowserMismatch => (
            C::InvalidRequest,
            "RFC 6749 §10.12: the state does not match",
        ),
        R::UpstreamDenied => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamIssuerMismatch => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamCodeMissing => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamTokenRefused => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamUnavailable => (C::TemporarilyUnavailable, "RFC 6749 §4.1.2.1: try later"),
        R::IdTokenMalformed => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenAlgorithmRefused => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenKeyUnknown => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenSignatureInvalid => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenIssuerMismatch => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenAudienceMismatch => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenExpired => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::IdTokenNonceMismatch => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamEmailMissing => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamEmailUnverified => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::UpstreamDomainRefused => (
            C::AccessDenied,
            "OpenID Connect Core §3.1.2.6, §3.1.3.7: refused",
        ),
        R::CimdDisabled => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdUrlInvalid => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdAddressRefused => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdHostNotAllowed => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdFetchFailed => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdDocumentInvalid => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::CimdClientIdMismatch => (
            C::InvalidClient,
            "RFC 6749 §5.2: the client cannot be established (CIMD draft)",
        ),
        R::ClientAssertionInvalid => (C::InvalidClient, "RFC 7523 §3.2: invalid_client"),
        R::ClientAssertionAudience => (C::InvalidClient, "RFC 7523 §3.2: invalid_client"),
        R::ClientAssertionSignature => (C::InvalidClient, "RFC 7523 §3.2: invalid_client"),
        R::ClientAssertionReplayed => (C::InvalidClient, "RFC 7523 §3.2: invalid_client"),
        R::NotHttpUrl => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::EndpointUnknown => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::MethodNotAllowed => (C::InvalidRequest, "RFC 6749 §5.2: otherwise malformed"),
        R::AccessSessionMissing => (C::InvalidToken, "RFC 6750 §3.1: no valid credential"),
        R::OriginUnreachable => (C::TemporarilyUnavailable, "RFC 6749 §4.1.2.1: try later"),
        R::Misconfigured => (C::TemporarilyUnavailable, "RFC 6749 §4.1.2.1"),
        R::StoreUnavailable => (C::TemporarilyUnavailable, "RFC 6749 §4.1.2.1"),
    }
}

/// Every reason, for the checks that must hold for all of them.
const REASONS: [Reason; 130] = [
    Reason::MalformedBody,
    Reason::BodyTooLarge,
    Reason::DuplicateParameter,
    Reason::MissingParameter,
    Reason::FormContentTypeRequired,
    Reason::CsrfMismatch,
    Reason::ClientIdMissing,
    Reason::ClientIdMalformed,
    Reason::ClientUnknown,
    Reason::ClientAuthMalformed,
    Reason::ClientAuthMultipleMethods,
    Reason::ClientAuthFailed,
    Reason::ClientAuthMethodMismatch,
    Reason::IntrospectionNeedsConfidentialClient,
    Reason::RegistrationRateLimited,
    Reason::RedirectUriMissing,
    Reason::RedirectUriInvalid,
    Reason::RedirectUriTooLong,
    Reason::RedirectUriCharacterRefused,
    Reason::RedirectUriHasFragment,
    Reason::RedirectUriHasUserinfo,
    Reason::RedirectUriForbiddenScheme,
    Reason::RedirectUriNeedsPublicClient,
    Reason::RedirectUrisWithoutCodeGrant,
    Reason::RedirectUriInsecureHttp,
    Reason::RedirectUriMismatch,
    Reason::ResponseTypeMissing,
    Reason::ResponseTypeUnsupported,
    Reason::PkceChallengeMissing,
    Reason::PlainPkceRefused,
    Reason::PkceChallengeMalformed,
    Reason::PkceVerifierMissing,
    Reason::PkceVerifierMalformed,
    Reason::PkceVerifierMismatch,
    Reason::ScopeMalformed,
    Reason::ScopeTooLarge,
    Reason::ScopeNotOffered,
    Reason::ScopeWidened,
    Reason::ResourceMalformed,
    Reason::ResourceHasFragment,
    Reason::ResourceSchemeRefused,
    Reason::ResourceUnknown,
    Reason::StateMalformed,
    Reason::StateTooLong,
    Reason::CodeUnknown,
    Reason::CodeExpired,
    Reason::CodeReplayed,
    Reason::CodeIssuedToOtherClient,
    Reason::RefreshTokenUnknown,
    Reason::RefreshTokenReused,
    Reason::RefreshTokenExpired,
    Reason::GrantRevoked,
    Reason::CodeRedirectUriMismatch,
    Reason::PolicyNoLongerAdmits,
    Reason::PolicyDenied,
    Reason::ConsentDenied,
    Reason::GrantTypeUnsupported,
    Reason::GrantTypeNotRegistered,
    Reason::ClientMetadataInvalid,
    Reason::ClientMetadataHiddenCharacter,
    Reason::TokenMalformed,
    Reason::TokenSignatureInvalid,
    Reason::TokenIssuerMismatch,
    Reason::TokenExpired,
    Reason::TokenInQuery,
    Reason::AgentsNotAdmitted,
    Reason::TokenAudienceMismatch,
    Reason::TokenRevoked,
    Reason::TokenPolicyDenied,
    Reason::InsufficientScope,
    Reason::PathAmbiguous,
    Reason::BodyOnGetOrHead,
    Reason::NotForwardable,
    Reason::AgentNotFound,
    Reason::AdminApiOff,
    Reason::AdminUnauthorized,
    Reason::AdminFilterRequired,
    Reason::AdminBadNumber,
    Reason::ConsoleBadFilter,
    Reason::ConsoleNothingSelected,
    Reason::ConsoleSignInRequired,
    Reason::ConsoleNotAdmin,
    Reason::MigrationMode,
    Reason::DeviceCodeUnknown,
    Reason::DeviceCodeExpired,
    Reason::DeviceCodeRedeemed,
    Reason::DeviceAuthorizationPending,
    Reason::DevicePollingTooFast,
    Reason::UserCodeUnknown,
    Reason::UserCodeGuessLimit,
    Reason::OidcProviderUnknown,
    Reason::OidcStateMissing,
    Reason::OidcStateUnknown,
    Reason::OidcStateReplayed,
    Reason::OidcStateExpired,
    Reason::OidcStateBrowserMismatch,
    Reason::UpstreamDenied,
    Reason::UpstreamIssuerMismatch,
    Reason::UpstreamCodeMissing,
    Reason::UpstreamTokenRefused,
    Reason::UpstreamUnavailable,
    Reason::IdTokenMalformed,
    Reason::IdTokenAlgorithmRefused,
    Reason::IdTokenKeyUnknown,
    Reason::IdTokenSignatureInvalid,
    Reason::IdTokenIssuerMismatch,
    Reason::IdTokenAudienceMismatch,
    Reason::IdTokenExpired,
    Reason::IdTokenNonceMismatch,
    Reason::UpstreamEmailMissing,
    Reason::UpstreamEmailUnverified,
    Reason::UpstreamDomainRefused,
    Reason::CimdDisabled,
    Reason::CimdUrlInvalid,
    Reason::CimdAddressRefused,
    Reason::CimdHostNotAllowed,
    Reason::CimdFetchFailed,
    Reason::CimdDocumentInvalid,
    Reason::CimdClientIdMismatch,
    Reason::ClientAssertionInvalid,
    Reason::ClientAssertionAudience,
    Reason::ClientAssertionSignature,
    Reason::ClientAssertionReplayed,
    Reason::NotHttpUrl,
    Reason::EndpointUnknown,
    Reason::MethodNotAllowed,
    Reason::AccessSessionMissing,
    Reason::OriginUnreachable,
    Reason::Misconfigured,
    Reason::StoreUnavailable,
];

#[test]
fn reasons_list_is_complete_and_in_declaration_order() {
    // The discriminants of a fieldless enum count up from zero, so a list whose n-th entry has
    // discriminant n and whose last entry is the last variant contains every variant once.
    for (position, reason) in REASONS.iter().enumerate() {
        assert_eq!(*reason as usize, position, "{reason:?}");
    }
    assert_eq!(REASONS.last(), Some(&Reason::StoreUnavailable));
}

#[test]
fn every_reason_maps_to_the_code_its_rfc_names() {
    for reason in REASONS {
        let (code, section) = expected_code(reason);
        let error = OAuthError::from(reason);
        assert_eq!(error.code, code, "{reason:?}: {section}");
        assert_eq!(error.reason, reason);
        assert_eq!(error.status(), code.status());
    }
}

#[test]
fn descriptions_use_only_the_characters_rfc_6749_allows() {
    // RFC 6749 §5.2: "Values for the "error_description" parameter MUST NOT include characters
    // outside the set %x20-21 / %x23-5B / %x5D-7E."
    for reason in REASONS {
        let description = OAuthError::from(reason).description;
        assert!(!description.is_empty(), "{reason:?}");
        assert!(
            description
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
            "{reason:?}: {description}"
        );
    }
}

#[test]
fn reasons_that_would_confirm_a_stolen_code_look_alike() {
    // A client presenting someone else's code must not learn that the code exists.
    let described = |r| OAuthError::from(r).description;
    assert_eq!(
        described(Reason::CodeIssuedToOtherClient),
        described(Reason::CodeUnknown)
    );
    assert_eq!(
        described(Reason::CodeReplayed),
        described(Reason::CodeUnknown)
    );
    assert_eq!(
        described(Reason::RefreshTokenReused),
        described(Reason::RefreshTokenUnknown)
    );
}

#[test]
fn the_json_body_has_error_and_description_only() {
    // RFC 6749 §5.2: the response body carries "error" and optionally "error_description".
    let error = OAuthError::from(Reason::PlainPkceRefused);
    assert_eq!(
        error.to_json(),
        r#"{"error":"invalid_request","error_description":"code_challenge_method must be S256"}"#
    );
    let value = serde_json::to_value(error.body()).unwrap();
    assert_eq!(value.as_object().unwrap().len(), 2);
}

#[test]
fn store_outage_is_503_and_never_500() {
    // DESIGN "Bad input": a storage outage answers 503 + Retry-After, not 500.
    assert_eq!(OAuthError::from(Reason::StoreUnavailable).status(), 503);
    for reason in REASONS {
        assert_ne!(OAuthError::from(reason).status(), 500, "{reason:?}");
    }
}
