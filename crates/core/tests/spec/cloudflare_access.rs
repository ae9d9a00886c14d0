//! `"identity": "cloudflare-access"`: the application token, the `/cdn-cgi/access/certs` document
//! and the `get-identity` document in the shapes Cloudflare Access documents, checked with
//! independent RSA and X.509 code (the `rsa` and `x509-cert` crates), and the setting's rules.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::config::{Config, OriginIdentity, Settings};
use gatehouse_core::error::Reason;
use gatehouse_core::gatekeeper::access::{self, AccessClaims, CertsDocument, IdentityDocument};
use gatehouse_core::jose::signer::AccessSigner;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use rsa::{BigUint, RsaPublicKey};
use x509_cert::der::{DecodePem as _, Encode as _};

use crate::support::*;

const TAG: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";

fn b64_json(part: &str) -> serde_json::Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The key of a JWK from the certs document, read as an independent verifier would.
fn key_of(jwk: &serde_json::Value) -> RsaPublicKey {
    let int = |name: &str| {
        BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap())
    };
    RsaPublicKey::new(int("n"), int("e")).unwrap()
}

fn rs256_verifies(key: &RsaPublicKey, message: &[u8], signature: &[u8]) -> bool {
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<rsa::sha2::Sha256>::new(key.clone())
        .verify(message, &signature)
        .is_ok()
}

#[test]
fn the_application_token_carries_the_access_claims_and_verifies_with_the_published_keys() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let identity = allowed(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    let server = world.server();
    let claims = AccessClaims::new(
        &server.site,
        &[TAG.to_owned()],
        &identity,
        "nonce-1".into(),
        Some("DE".into()),
        server.now,
    );
    let jwt = block_on(access::sign(&world.signer, &claims)).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = b64_json(parts[0]);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "r1");
    let payload = b64_json(parts[1]);
    assert_eq!(
        payload["aud"],
        serde_json::json!([TAG]),
        "aud is the tag array"
    );
    assert_eq!(payload["iss"], ISSUER, "the team domain is the app's URL");
    assert_eq!(payload["email"], "alice@example.com");
    assert_eq!(payload["sub"], "local:alice@example.com");
    assert_eq!(payload["type"], "app");
    assert_eq!(payload["identity_nonce"], "nonce-1");
    assert_eq!(payload["country"], "DE");
    assert_eq!(payload["iat"], server.now.0);
    assert_eq!(payload["nbf"], server.now.0);
    assert_eq!(payload["exp"], server.now.0 + access::TTL_SECS);
    assert_eq!(payload["gatehouse_client_id"], client.id.as_str());
    assert_eq!(payload["gatehouse_client_name"], "Agent");
    assert!(payload["gatehouse_grant_id"].is_string());
    assert_eq!(payload["gatehouse_scope"], "read");

    // The certs document, as JSON, in Access's shape.
    let keys = block_on(world.signer.access_keys()).unwrap();
    let certs = serde_json::to_value(CertsDocument::new(&keys).unwrap()).unwrap();
    let jwk = &certs["keys"][0];
    for (field, value) in [
        ("kid", "r1"),
        ("kty", "RSA"),
        ("alg", "RS256"),
        ("use", "sig"),
    ] {
        assert_eq!(jwk[field], value, "{field}");
    }
    assert_eq!(certs["public_cert"]["kid"], "r1");
    assert_eq!(certs["public_certs"][0], certs["public_cert"]);
    assert_eq!(certs["keys"].as_array().unwrap().len(), 1);

    // The token verifies with the JWK, and not once altered.
    let key = key_of(jwk);
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert!(rs256_verifies(&key, signing_input.as_bytes(), &signature));
    let forged = format!(
        "{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(br#"{"email":"mallory@example.com"}"#)
    );
    assert!(!rs256_verifies(&key, forged.as_bytes(), &signature));

    // The certificate carries the same key and is signed by it.
    let pem = certs["public_cert"]["cert"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let cert = x509_cert::Certificate::from_pem(pem).unwrap();
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .unwrap();
    assert_eq!(RsaPublicKey::from_public_key_der(&spki).unwrap(), key);
    assert_eq!(cert.tbs_certificate.issuer, cert.tbs_certificate.subject);
    assert_eq!(cert.tbs_certificate.version, x509_cert::Version::V3);
    assert_eq!(cert.tbs_certificate.serial_number.as_bytes(), b"r1");
    assert_eq!(
        cert.tbs_certificate.subject.to_string(),
        "CN=gatehouse access key r1"
    );
    let validity = cert.tbs_certificate.validity;
    assert_eq!(
        validity.not_before.to_unix_duration().as_secs(),
        1_700_000_000
    );
    assert_eq!(
        validity.not_after.to_unix_duration().as_secs(),
        1_700_000_000 + 30 * 24 * 3600
    );
    assert_eq!(
        cert.signature_algorithm.oid.to_string(),
        "1.2.840.113549.1.1.11",
        "sha256WithRSAEncryption"
    );
    let tbs = cert.tbs_certificate.to_der().unwrap();
    assert!(rs256_verifies(&key, &tbs, cert.signature.raw_bytes()));
}

#[test]
fn an_application_token_is_never_a_bearer_token_at_the_gate() {
    let world = World::new();
    let client = world.public_client();
    let tokens = world.tokens(&client);
    let identity = allowed(gate(
        &world,
        api("GET", Some(&bearer(&tokens.access_token))),
    ));
    let server = world.server();
    let claims = AccessClaims::new(
        &server.site,
        &[ISSUER.to_owned()],
        &identity,
        "n".into(),
        None,
        server.now,
    );
    let jwt = block_on(access::sign(&world.signer, &claims)).unwrap();
    let (status, _, reason) = challenge(gate(&world, api("GET", Some(&bearer(&jwt)))));
    assert_eq!(status, 401);
    // RS256 with `typ: JWT`: not an ES256 `at+jwt`, whatever its claims.
    assert_eq!(reason, Some(Reason::TokenMalformed));
}

#[test]
fn a_browser_session_has_no_agent_claims_and_get_identity_names_the_person() {
    let world = World::new();
    let session = world.login("alice@example.com");
    let person = block_on(world.server().person(Some(&session)))
        .unwrap()
        .unwrap();
    let document = serde_json::to_value(IdentityDocument::new(&person, None, UNIX)).unwrap();
    assert_eq!(document["email"], "alice@example.com");
    assert_eq!(document["id"], "local:alice@example.com");
    assert_eq!(document["idp"]["type"], "local");
    assert_eq!(document["is_warp"], false);
    assert!(document.get("geo").is_none(), "no country made up");
    let with_country = IdentityDocument::new(&person, Some("FR".into()), UNIX);
    assert_eq!(
        serde_json::to_value(with_country).unwrap()["geo"]["country"],
        "FR"
    );
}

const UNIX: gatehouse_core::time::UnixTime = gatehouse_core::time::UnixTime(1_800_000_000);

fn apps(extra: &str) -> Result<Config, String> {
    let apps = format!(
        r#"[{{"name":"Wiki","host":"wiki.test","scopes":{{"read":"Read"}},
             "policy":{{"allow_domains":["example.com"]}},"origin":"https://wiki.internal"{extra}}}]"#
    );
    Config::from_settings(Settings {
        apps: Some(&apps),
        local_accounts: Some("{}"),
        secret: Some("test-secret-test-secret-test-secret!"),
        ..Settings::default()
    })
    .map_err(|e| e.problem)
}

#[test]
fn the_identity_setting_names_the_audience_tags_and_refuses_half_settings() {
    let config = apps(&format!(
        r#","identity":"cloudflare-access","access_aud":["{TAG}"]"#
    ))
    .unwrap();
    assert_eq!(
        config.apps[0].identity,
        OriginIdentity::CloudflareAccess {
            audience: vec![TAG.into()]
        }
    );
    assert_eq!(
        apps("").unwrap().apps[0].identity,
        OriginIdentity::Gatehouse
    );
    assert_eq!(
        apps(r#","identity":"gatehouse""#).unwrap().apps[0].identity,
        OriginIdentity::Gatehouse
    );
    for (extra, problem) in [
        (r#","identity":"cloudflare-access""#, "needs access_aud"),
        (
            r#","identity":"cloudflare-access","access_aud":[]"#,
            "needs access_aud",
        ),
        (
            r#","identity":"cloudflare-access","access_aud":["a b"]"#,
            "is not an audience tag",
        ),
        (
            r#","identity":"cloudflare-access","access_aud":[""]"#,
            "is not an audience tag",
        ),
        (r#","access_aud":["abc"]"#, "access_aud is set but identity"),
        (r#","identity":"access""#, "is neither"),
    ] {
        let error = apps(extra).unwrap_err();
        assert!(error.contains(problem), "{extra}: {error}");
    }
}
