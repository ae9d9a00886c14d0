use std::collections::BTreeMap;

use super::discovery::{DiscoveryError, ProviderMetadata, discovery_url};
use super::id_token::parse as split;
use super::provider::parse;
use super::state::{authorization_url, derive};
use crate::error::Reason;
use crate::jose::alg::Alg as JwsAlg;
use crate::jose::jwk::JwkSet as Jwks;
use crate::jose::jws::HighS;

fn providers(json: &str) -> Result<Vec<super::provider::Provider>, crate::error::ConfigError> {
    let secrets = BTreeMap::from([("S".to_owned(), "secret".to_owned())]);
    parse(Some(json), &secrets)
}

#[test]
fn provider_settings_are_validated_with_the_setting_and_the_fix() {
    let ok = r#"[{"id":"corp","name":"Corp","issuer":"https://idp.example","client_id":"c","client_secret_env":"S"}]"#;
    let corp = &providers(ok).unwrap()[0];
    assert_eq!(corp.scopes, "openid email profile");
    assert_eq!(corp.groups_claim, "groups");
    assert!(format!("{corp:?}").contains("[redacted]"));
    assert!(!format!("{corp:?}").contains("secret\""));
    let rows = [
        (
            r#"[{"id":"c","name":"C","issuer":"http://idp.example","client_id":"c","public_client":true}]"#,
            "must use https",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"http://idp.example","client_id":"c","public_client":true,"allow_insecure_loopback_issuer":true}]"#,
            "only for 127.0.0.1",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","client_secret_env":"MISSING"}]"#,
            "is not set",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c"}]"#,
            "client_secret_env is missing",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","client_secret_env":"S","public_client":true}]"#,
            "not both",
        ),
        (
            r#"[{"id":"C!","name":"C","issuer":"https://i.example","client_id":"c","public_client":true}]"#,
            "must be 1 to 32",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","public_client":true,"scopes":"email"}]"#,
            "openid",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example?x=1","client_id":"c","public_client":true}]"#,
            "query",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","public_client":true},{"id":"c","name":"D","issuer":"https://j.example","client_id":"d","public_client":true}]"#,
            "two providers",
        ),
        (
            r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","public_client":true,"colour":"red"}]"#,
            "unknown field",
        ),
    ];
    for (json, problem) in rows {
        let error = providers(json).unwrap_err();
        assert_eq!(error.setting, "OIDC_PROVIDERS");
        assert!(error.to_string().contains(problem), "{problem}: {error}");
    }
    let loopback = r#"[{"id":"t","name":"T","issuer":"http://127.0.0.1:9000","client_id":"c","public_client":true,"allow_insecure_loopback_issuer":true}]"#;
    assert!(providers(loopback).is_ok());
    assert!(parse(None, &BTreeMap::new()).unwrap().is_empty());
}

#[test]
fn discovery_needs_the_exact_issuer_and_https_endpoints() {
    let provider = &providers(
        r#"[{"id":"c","name":"C","issuer":"https://i.example/tenant","client_id":"c","public_client":true}]"#,
    )
    .unwrap()[0];
    assert_eq!(
        discovery_url("https://i.example/tenant/"),
        "https://i.example/tenant/.well-known/openid-configuration"
    );
    let document = |issuer: &str, token: &str| {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"https://i.example/a","token_endpoint":"{token}","jwks_uri":"https://i.example/k"}}"#
        )
    };
    assert!(
        ProviderMetadata::parse(
            provider,
            &document("https://i.example/tenant", "https://i.example/t")
        )
        .is_ok()
    );
    assert_eq!(
        ProviderMetadata::parse(
            provider,
            &document("https://i.example/tenant/", "https://i.example/t")
        ),
        Err(DiscoveryError::IssuerMismatch)
    );
    assert_eq!(
        ProviderMetadata::parse(
            provider,
            &document("https://i.example/tenant", "http://i.example/t")
        ),
        Err(DiscoveryError::InsecureEndpoint)
    );
    assert_eq!(
        ProviderMetadata::parse(provider, "{}"),
        Err(DiscoveryError::Malformed)
    );
}

/// Issue 19: an identity provider's endpoints were held to "https" alone, so a discovery
/// document could point gatehouse's token request or JWK Set fetch at a cloud metadata address
/// or a private network; they follow the one outbound rule of CIMD now (`crate::net`).
#[test]
fn endpoints_gatehouse_calls_must_be_public_and_the_issuer_too() {
    let provider = &providers(
        r#"[{"id":"c","name":"C","issuer":"https://i.example","client_id":"c","public_client":true}]"#,
    )
    .unwrap()[0];
    let document = |authorize: &str, token: &str, jwks: &str| {
        format!(
            r#"{{"issuer":"https://i.example","authorization_endpoint":"{authorize}","token_endpoint":"{token}","jwks_uri":"{jwks}"}}"#
        )
    };
    let public = "https://i.example/x";
    for inside in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/t",
        "https://127.0.0.1/t",
        "https://[::1]/t",
        "https://localhost/t",
        "https://intranet/t",
    ] {
        for (token, jwks) in [(inside, public), (public, inside)] {
            assert_eq!(
                ProviderMetadata::parse(provider, &document(public, token, jwks)),
                Err(DiscoveryError::InsecureEndpoint),
                "{token} {jwks}"
            );
        }
    }
    // The browser's endpoint is not called by gatehouse: https is all it needs.
    assert!(
        ProviderMetadata::parse(
            provider,
            &document("https://sso.corp.internal/a", public, public)
        )
        .is_ok()
    );
    for issuer in [
        "https://10.1.2.3",
        "https://169.254.169.254",
        "https://localhost",
    ] {
        let error = providers(&format!(
            r#"[{{"id":"c","name":"C","issuer":"{issuer}","client_id":"c","public_client":true}}]"#
        ))
        .unwrap_err();
        assert!(
            error.problem.contains("private"),
            "{issuer}: {}",
            error.problem
        );
    }
}

#[test]
fn nonce_and_verifier_are_derived_from_the_state_and_differ_by_key() {
    let a = derive(&[1; 32], "state-a");
    assert_eq!(
        a.code_verifier.len(),
        43,
        "RFC 7636 §4.1: 43 to 128 characters"
    );
    assert!(crate::pkce::CodeVerifier::parse(&a.code_verifier).is_ok());
    assert_ne!(a.nonce, a.code_verifier);
    assert_eq!(derive(&[1; 32], "state-a").nonce, a.nonce);
    assert_ne!(derive(&[2; 32], "state-a").nonce, a.nonce);
    assert_ne!(derive(&[1; 32], "state-b").nonce, a.nonce);
}

#[test]
fn the_authorization_url_keeps_the_endpoints_own_query() {
    let derived = derive(&[1; 32], "s");
    let url = authorization_url(
        "https://i.example/authorize?tenant=x",
        "c",
        "https://app/cb",
        "openid",
        "s",
        &derived,
    )
    .unwrap();
    assert!(url.starts_with("https://i.example/authorize?tenant=x&response_type=code&client_id=c&redirect_uri=https%3A%2F%2Fapp%2Fcb"), "{url}");
    assert!(url.contains("&code_challenge_method=S256"));
}

#[test]
fn keys_are_chosen_by_kid_and_algorithm() {
    let jwks = Jwks::parse(
        r#"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"},
                    {"kty":"EC","kid":"e","crv":"P-256","x":"x","y":"y","use":"sig"},
                    {"kty":"EC","kid":"enc","crv":"P-256","x":"x","y":"y","use":"enc"},
                    {"kty":"oct","k":"secret"}, 42]}"#,
    )
    .unwrap();
    assert_eq!(jwks.find(JwsAlg::Rs256, Some("r")).unwrap().kty, "RSA");
    assert!(
        jwks.find(JwsAlg::Es256, Some("r")).is_none(),
        "an RSA key for ES256"
    );
    assert!(
        jwks.find(JwsAlg::Es256, Some("enc")).is_none(),
        "an encryption key"
    );
    assert_eq!(
        jwks.find(JwsAlg::Es256, None).unwrap().kid.as_deref(),
        Some("e")
    );
    assert!(Jwks::parse("[]").is_none());
}

#[test]
fn only_compact_rs256_and_es256_tokens_are_split() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let token = |header: &str| format!("{}.{}.{}", b64(header), b64("{}"), b64("sig"));
    let ok = token(r#"{"alg":"RS256","kid":"k"}"#);
    let signed = split(&ok).unwrap();
    let checked =
        futures::executor::block_on(signed.verify(HighS::Accepted, async |input, signature| {
            assert_eq!(input, ok.rsplit_once('.').unwrap().0.as_bytes());
            assert_eq!(signature, b"sig");
            Ok::<_, ()>(true)
        }));
    assert!(matches!(checked, Ok(Ok(_))));
    assert_eq!(
        split(&token(r#"{"alg":"none"}"#)).unwrap_err(),
        Reason::IdTokenAlgorithmRefused
    );
    assert_eq!(
        split(&token(r#"{"alg":"HS256"}"#)).unwrap_err(),
        Reason::IdTokenAlgorithmRefused
    );
    assert_eq!(
        split(&token(r#"{"alg":"RS256","crit":["x"]}"#)).unwrap_err(),
        Reason::IdTokenMalformed
    );
    for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(70_000)] {
        assert_eq!(
            split(bad).unwrap_err(),
            Reason::IdTokenMalformed,
            "{bad:.20}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn split_never_panics(token in ".{0,300}") {
        let _ = split(&token);
    }
}
