//! Compact JWS signing (RFC 7515 §7.1) with the server's ES256 keys, shared by access tokens and
//! origin assertions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::signer::Signer;
use crate::store::StoreError;

/// The only algorithm gatehouse signs with (RFC 7518 §3.4).
pub const ALG: &str = "ES256";

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

/// Signs `claims` with the current key, with `typ` in the header (RFC 8725 §3.11: explicit
/// typing keeps one kind of JWT from being accepted as another).
pub async fn sign<T: Serialize>(
    signer: &impl Signer,
    typ: &str,
    claims: &T,
) -> Result<String, StoreError> {
    let kid = signer.current_kid().await?;
    let header = Header {
        alg: ALG,
        typ,
        kid: &kid,
    };
    let signing_input = format!("{}.{}", b64_json(&header), b64_json(claims));
    let signature = signer.sign(&kid, signing_input.as_bytes()).await?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

fn b64_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs of strings and integers cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}
