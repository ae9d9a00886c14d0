//! WebCrypto (`crypto.subtle`) through wasm-bindgen: ES256 keys and signatures, RS256 keys
//! and signatures for the Access-compatible assertion, AES-GCM for
//! keys at rest, and PBKDF2 for passwords.
//!
//! Why not pure Rust: inside workerd one ES256 sign + verify costs ~0.17 ms of CPU through
//! WebCrypto against ~3.5 ms with P-256 compiled to wasm, and the curve code would add ~400 KB
//! to the Worker. Native tests use pure-Rust implementations of the same traits instead.

use js_sys::{Array, JSON, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};
use worker::{Error, Result};

fn subtle() -> Result<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
}

/// A plain JS object from string keys and values.
fn object(fields: &[(&str, JsValue)]) -> Result<Object> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &(*key).into(), value)?;
    }
    Ok(object)
}

fn usages(names: &[&str]) -> JsValue {
    names
        .iter()
        .map(|n| JsValue::from_str(n))
        .collect::<Array>()
        .into()
}

async fn resolve(promise: std::result::Result<Promise, JsValue>) -> Result<JsValue> {
    Ok(JsFuture::from(promise?).await?)
}

fn bytes_of(buffer: &JsValue) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
}

fn ecdsa() -> Result<Object> {
    object(&[
        ("name", "ECDSA".into()),
        ("namedCurve", "P-256".into()),
        ("hash", "SHA-256".into()),
    ])
}

/// A new ES256 key pair: the private key as a JWK (JSON text, to be encrypted at rest) and the
/// public coordinates `x`, `y` (base64url).
pub async fn generate_es256() -> Result<(String, String, String)> {
    let pair =
        resolve(subtle()?.generate_key_with_object(&ecdsa()?, true, &usages(&["sign", "verify"])))
            .await?;
    let private: CryptoKey = Reflect::get(&pair, &"privateKey".into())?.unchecked_into();
    let jwk = resolve(subtle()?.export_key("jwk", &private)).await?;
    let field = |name: &str| -> Result<String> {
        Reflect::get(&jwk, &name.into())?
            .as_string()
            .ok_or_else(|| Error::RustError(format!("JWK without {name}")))
    };
    let (x, y) = (field("x")?, field("y")?);
    let text = JSON::stringify(&jwk)?.as_string().unwrap_or_default();
    Ok((text, x, y))
}

/// Imports a private ES256 key from its JWK text, for signing only, not extractable.
pub async fn import_es256_private(jwk: &str) -> Result<CryptoKey> {
    let data: Object = JSON::parse(jwk)?.unchecked_into();
    let key = resolve(subtle()?.import_key_with_object(
        "jwk",
        &data,
        &ecdsa()?,
        false,
        &usages(&["sign"]),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// Imports a public ES256 key from its coordinates, for verifying.
pub async fn import_es256_public(x: &str, y: &str) -> Result<CryptoKey> {
    let data = object(&[
        ("kty", "EC".into()),
        ("crv", "P-256".into()),
        ("x", x.into()),
        ("y", y.into()),
    ])?;
    let key = resolve(subtle()?.import_key_with_object(
        "jwk",
        &data,
        &ecdsa()?,
        false,
        &usages(&["verify"]),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// An ES256 signature, `R || S` (WebCrypto's ECDSA output is already the JWS form). About half
/// of them are high-`s`: `gatehouse_core::jose::jws::sign` normalises them.
pub async fn sign_es256(key: &CryptoKey, message: &[u8]) -> Result<Vec<u8>> {
    let data = Uint8Array::from(message);
    Ok(bytes_of(
        &resolve(subtle()?.sign_with_object_and_buffer_source(&ecdsa()?, key, &data)).await?,
    ))
}

/// Whether `signature` is a valid ES256 signature of `message`.
pub async fn verify_es256(key: &CryptoKey, message: &[u8], signature: &[u8]) -> Result<bool> {
    let (data, signature) = (Uint8Array::from(message), Uint8Array::from(signature));
    let valid = resolve(
        subtle()?.verify_with_object_and_buffer_source_and_buffer_source(
            &ecdsa()?,
            key,
            &signature,
            &data,
        ),
    )
    .await?;
    Ok(valid.as_bool().unwrap_or(false))
}

fn rsassa() -> Result<Object> {
    object(&[
        ("name", "RSASSA-PKCS1-v1_5".into()),
        ("hash", "SHA-256".into()),
    ])
}

/// A new RS256 key pair (RSASSA-PKCS1-v1_5, 2048 bits, e = 65537, SHA-256; RFC 7518 §3.3) for
/// the Access-compatible assertion: the private key as a JWK (JSON text, to be encrypted at
/// rest), the public key's `n` and `e` (base64url), and the key itself, to sign the
/// certificate that carries it.
pub async fn generate_rs256() -> Result<(String, String, String, Vec<u8>, CryptoKey)> {
    let algorithm = object(&[
        ("name", "RSASSA-PKCS1-v1_5".into()),
        ("modulusLength", 2048.into()),
        (
            "publicExponent",
            Uint8Array::from([1u8, 0, 1].as_slice()).into(),
        ),
        ("hash", "SHA-256".into()),
    ])?;
    let pair =
        resolve(subtle()?.generate_key_with_object(&algorithm, true, &usages(&["sign", "verify"])))
            .await?;
    let private: CryptoKey = Reflect::get(&pair, &"privateKey".into())?.unchecked_into();
    let public: CryptoKey = Reflect::get(&pair, &"publicKey".into())?.unchecked_into();
    let jwk = resolve(subtle()?.export_key("jwk", &private)).await?;
    let field = |name: &str| -> Result<String> {
        Reflect::get(&jwk, &name.into())?
            .as_string()
            .ok_or_else(|| Error::RustError(format!("JWK without {name}")))
    };
    let (n, e) = (field("n")?, field("e")?);
    let text = JSON::stringify(&jwk)?.as_string().unwrap_or_default();
    let spki = bytes_of(&resolve(subtle()?.export_key("spki", &public)).await?);
    Ok((text, n, e, spki, private))
}

/// Imports a private RS256 key from its JWK text, for signing only, not extractable.
pub async fn import_rs256_private(jwk: &str) -> Result<CryptoKey> {
    let data: Object = JSON::parse(jwk)?.unchecked_into();
    let key = resolve(subtle()?.import_key_with_object(
        "jwk",
        &data,
        &rsassa()?,
        false,
        &usages(&["sign"]),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// An RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256).
pub async fn sign_rs256(key: &CryptoKey, message: &[u8]) -> Result<Vec<u8>> {
    let data = Uint8Array::from(message);
    Ok(bytes_of(
        &resolve(subtle()?.sign_with_object_and_buffer_source(&rsassa()?, key, &data)).await?,
    ))
}

async fn aes_key(key: &[u8; 32], usage: &str) -> Result<CryptoKey> {
    let algorithm = object(&[("name", "AES-GCM".into())])?;
    let raw = Uint8Array::from(key.as_slice());
    let key = resolve(subtle()?.import_key_with_object(
        "raw",
        &raw,
        &algorithm,
        false,
        &usages(&[usage]),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// AES-256-GCM encryption with a random 96-bit nonce; returns `nonce || ciphertext`.
pub async fn seal(key: &[u8; 32], plaintext: &[u8], nonce: [u8; 12]) -> Result<Vec<u8>> {
    let algorithm = object(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(nonce.as_slice()).into()),
    ])?;
    let data = Uint8Array::from(plaintext);
    let sealed = resolve(subtle()?.encrypt_with_object_and_buffer_source(
        &algorithm,
        &aes_key(key, "encrypt").await?,
        &data,
    ))
    .await?;
    Ok([nonce.as_slice(), &bytes_of(&sealed)].concat())
}

/// Opens what [`seal`] produced; fails if it was altered or the key is wrong.
pub async fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Vec<u8>> {
    let (nonce, ciphertext) = sealed
        .split_at_checked(12)
        .ok_or_else(|| Error::RustError("sealed data too short".into()))?;
    let algorithm = object(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(nonce).into()),
    ])?;
    let data = Uint8Array::from(ciphertext);
    let opened = resolve(subtle()?.decrypt_with_object_and_buffer_source(
        &algorithm,
        &aes_key(key, "decrypt").await?,
        &data,
    ))
    .await?;
    Ok(bytes_of(&opened))
}

/// PBKDF2-HMAC-SHA256.
pub async fn pbkdf2(password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Result<Vec<u8>> {
    let algorithm = object(&[("name", "PBKDF2".into())])?;
    let raw = Uint8Array::from(password);
    let base: CryptoKey = resolve(subtle()?.import_key_with_object(
        "raw",
        &raw,
        &algorithm,
        false,
        &usages(&["deriveBits"]),
    ))
    .await?
    .unchecked_into();
    let params = object(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", rounds.into()),
    ])?;
    let bits = u32::try_from(len * 8).map_err(|_| Error::RustError("PBKDF2 length".into()))?;
    Ok(bytes_of(
        &resolve(subtle()?.derive_bits_with_object(&params, &base, bits)).await?,
    ))
}

/// Whether `signature` is a valid RS256 or ES256 (JWS, RFC 7518 §3) signature of `message`
/// under a public key someone else published (a client's, an upstream provider's), imported
/// from its JWK (`crypto.subtle.importKey` with format `"jwk"`).
pub async fn verify_jwk(
    jwk: &gatehouse_core::jose::jwk::Jwk,
    alg: gatehouse_core::jose::alg::Alg,
    message: &[u8],
    signature: &[u8],
) -> Result<bool> {
    use gatehouse_core::jose::alg::Alg as JwsAlg;
    let text = |v: &Option<String>| JsValue::from_str(v.as_deref().unwrap_or_default());
    let (data, algorithm) = match alg {
        JwsAlg::Rs256 => (
            object(&[
                ("kty", "RSA".into()),
                ("n", text(&jwk.n)),
                ("e", text(&jwk.e)),
            ])?,
            object(&[
                ("name", "RSASSA-PKCS1-v1_5".into()),
                ("hash", "SHA-256".into()),
            ])?,
        ),
        JwsAlg::Es256 => (
            object(&[
                ("kty", "EC".into()),
                ("crv", "P-256".into()),
                ("x", text(&jwk.x)),
                ("y", text(&jwk.y)),
            ])?,
            ecdsa()?,
        ),
    };
    let key: CryptoKey = resolve(subtle()?.import_key_with_object(
        "jwk",
        &data,
        &algorithm,
        false,
        &usages(&["verify"]),
    ))
    .await?
    .unchecked_into();
    let (data, signature) = (Uint8Array::from(message), Uint8Array::from(signature));
    let valid = resolve(
        subtle()?.verify_with_object_and_buffer_source_and_buffer_source(
            &algorithm, &key, &signature, &data,
        ),
    )
    .await?;
    Ok(valid.as_bool().unwrap_or(false))
}
