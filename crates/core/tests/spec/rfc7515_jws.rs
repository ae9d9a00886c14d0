//! RFC 7515 (JWS) and RFC 8725 (JWT best current practices), applied alike by every caller of
//! the one compact-JWS parser (`gatehouse_core::jose::jws`): access tokens (RFC 9068), clients'
//! `private_key_jwt` assertions (RFC 7523) and upstream ID tokens (OpenID Connect Core
//! §3.1.3.7). Each refusal is tried on a token that is otherwise valid and properly signed, so
//! the refusal is the parser's, not a bad signature's: §4.1.11 `crit` not understood, the size
//! cap, base64url (§2, no padding), `none` and `HS256` (RFC 8725 §2.1, §3.1), and an `alg` the
//! caller does not accept.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_core::access_token::{self, VerifyError};
use gatehouse_core::client_assertion::{self, MAX_ASSERTION_BYTES};
use gatehouse_core::error::Reason;
use gatehouse_core::jose::jws::Es256Signature;
use gatehouse_core::jose::signer::Signer as _;
use gatehouse_core::oidc::id_token::{self, MAX_ID_TOKEN_BYTES};
use gatehouse_core::time::UnixTime;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};

use crate::support::*;

/// One caller of the parser: how it signs a token it would accept, and why it refuses one.
struct Caller {
    name: &'static str,
    /// The header of a token this caller accepts.
    header: Value,
    /// The claims of a token this caller accepts.
    claims: Value,
    /// Its size cap, in bytes.
    max_bytes: usize,
    /// An algorithm gatehouse knows but this caller does not accept.
    foreign_alg: &'static str,
    /// The reason for a refused `alg` (`none`, `HS256`, a foreign one).
    alg_refused: Reason,
    /// The reason for every other refusal of the JWS itself.
    malformed: Reason,
}

/// Signs `header.claims` with the caller's key: the server's current key for access tokens
/// (low `s`, as gatehouse signs), a client's or a provider's key otherwise.
fn sign(world: &World, caller: &Caller, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = if caller.name == "access token" {
        let kid = block_on(world.signer.current_kid()).unwrap();
        let raw = block_on(world.signer.sign(&kid, input.as_bytes())).unwrap();
        Es256Signature::normalize(&raw).unwrap().to_bytes()
    } else {
        let key = SigningKey::from_bytes(&[7; 32].into()).unwrap();
        let signature: Signature = key.sign(input.as_bytes());
        signature.to_bytes().to_vec()
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Why `caller` refuses `token`, through the entry point production uses; `None` when the
/// parser lets it through.
fn refusal(world: &World, caller: &Caller, token: &str) -> Option<Reason> {
    match caller.name {
        "access token" => {
            match block_on(access_token::verify(
                &world.signer,
                token,
                ISSUER,
                UnixTime(1_800_000_001),
            )) {
                Ok(_) => None,
                Err(VerifyError::Invalid(reason)) => Some(reason),
                Err(VerifyError::Store(e)) => panic!("{e}"),
            }
        }
        // The token endpoint reads the assertion before it looks the client up.
        "client assertion" => {
            client_assertion::Assertion::parse(token).err()?;
            let body = form(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_assertion_type", client_assertion::ASSERTION_TYPE),
                ("client_assertion", token),
            ]);
            Some(error_of(block_on(world.server().token(body.as_bytes(), None))).reason)
        }
        // The callback's first step with the token endpoint's answer.
        "ID token" => id_token::parse(token).err(),
        other => panic!("{other}"),
    }
}

fn callers(world: &World) -> [Caller; 3] {
    let issued = world.tokens(&world.public_client()).access_token;
    let kid = block_on(world.signer.current_kid()).unwrap();
    let agent = "https://agent.example.com/client.json";
    [
        Caller {
            name: "access token",
            header: json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}),
            claims: claims(&issued),
            max_bytes: access_token::MAX_TOKEN_BYTES,
            foreign_alg: "RS256",
            alg_refused: Reason::TokenMalformed,
            malformed: Reason::TokenMalformed,
        },
        Caller {
            name: "client assertion",
            header: json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
            claims: json!({"iss": agent, "sub": agent, "aud": "https://wiki.test/oauth/token",
                           "jti": "j1", "exp": 1_800_000_120u64, "iat": 1_800_000_000u64}),
            max_bytes: MAX_ASSERTION_BYTES,
            foreign_alg: "RS256",
            alg_refused: Reason::ClientAssertionInvalid,
            malformed: Reason::ClientAssertionInvalid,
        },
        Caller {
            name: "ID token",
            header: json!({"alg": "ES256", "kid": "idp-1"}),
            claims: json!({"iss": "https://idp.test", "sub": "00u-alice", "aud": "gatehouse-wiki",
                           "exp": 1_800_000_300u64, "iat": 1_800_000_000u64, "nonce": "n"}),
            max_bytes: MAX_ID_TOKEN_BYTES,
            foreign_alg: "ES512",
            alg_refused: Reason::IdTokenAlgorithmRefused,
            malformed: Reason::IdTokenMalformed,
        },
    ]
}

fn with(header: &Value, key: &str, value: Value) -> Value {
    let mut header = header.clone();
    header[key] = value;
    header
}

#[test]
fn every_caller_refuses_crit_oversize_bad_base64_none_hs256_and_foreign_algorithms() {
    let world = World::new();
    for caller in callers(&world) {
        let name = caller.name;
        let valid = sign(&world, &caller, &caller.header, &caller.claims);
        assert_eq!(
            refusal(&world, &caller, &valid),
            None,
            "{name}: the control"
        );
        let (header_b64, rest) = valid.split_once('.').unwrap();
        let (payload_b64, signature_b64) = rest.split_once('.').unwrap();
        let unsigned = |header: &Value| {
            format!(
                "{}.{payload_b64}.",
                URL_SAFE_NO_PAD.encode(header.to_string())
            )
        };
        let mut padded = caller.claims.clone();
        padded["pad"] = json!("x".repeat(caller.max_bytes));
        let rows: Vec<(&str, String, Reason)> = vec![
            (
                // RFC 7515 §4.1.11: an extension the recipient does not understand.
                "crit",
                sign(
                    &world,
                    &caller,
                    &with(
                        &with(&caller.header, "crit", json!(["exp"])),
                        "exp",
                        json!(0),
                    ),
                    &caller.claims,
                ),
                caller.malformed,
            ),
            (
                "over the size cap",
                sign(&world, &caller, &caller.header, &padded),
                caller.malformed,
            ),
            (
                "padded base64 signature",
                format!("{header_b64}.{payload_b64}.{signature_b64}=="),
                caller.malformed,
            ),
            (
                "standard-alphabet base64 header",
                format!(
                    "{}+.{payload_b64}.{signature_b64}",
                    &header_b64[..header_b64.len() - 1]
                ),
                caller.malformed,
            ),
            (
                "not base64 payload",
                format!("{header_b64}.!!.{signature_b64}"),
                caller.malformed,
            ),
            (
                "two parts",
                format!("{header_b64}.{payload_b64}"),
                caller.malformed,
            ),
            (
                "four parts",
                format!("{valid}.{signature_b64}"),
                caller.malformed,
            ),
            (
                "alg none without a signature",
                unsigned(&with(&caller.header, "alg", json!("none"))),
                caller.alg_refused,
            ),
            (
                "alg HS256",
                format!(
                    "{}.{payload_b64}.{signature_b64}",
                    URL_SAFE_NO_PAD.encode(with(&caller.header, "alg", json!("HS256")).to_string())
                ),
                caller.alg_refused,
            ),
            (
                "an algorithm this caller does not accept",
                sign(
                    &world,
                    &caller,
                    &with(&caller.header, "alg", json!(caller.foreign_alg)),
                    &caller.claims,
                ),
                caller.alg_refused,
            ),
        ];
        for (row, token, reason) in rows {
            assert_eq!(
                refusal(&world, &caller, &token),
                Some(reason),
                "{name}: {row}"
            );
        }
    }
}
