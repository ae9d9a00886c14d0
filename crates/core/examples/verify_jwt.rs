//! Verifies an access token with an independent JWT library (jwt-compact) against a JWK Set
//! file, and prints its claims. The end-to-end suite runs it on a token the Worker signed:
//!
//!     cargo run -p gatehouse-core --features testing --example verify_jwt -- jwks.json TOKEN

use std::process::ExitCode;

use gatehouse_core::jose::jwk::JwkSet;
use gatehouse_core::testing::verify_with_jwt_compact;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [jwks_path, token] = args.as_slice() else {
        eprintln!("usage: verify_jwt JWKS_FILE TOKEN");
        return ExitCode::from(2);
    };
    let jwks: JwkSet = match std::fs::read_to_string(jwks_path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(jwks) => jwks,
        Err(error) => {
            eprintln!("cannot read {jwks_path}: {error}");
            return ExitCode::from(2);
        }
    };
    match verify_with_jwt_compact(&jwks, token) {
        Ok(claims) => {
            println!("{claims}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("token refused: {error}");
            ExitCode::FAILURE
        }
    }
}
