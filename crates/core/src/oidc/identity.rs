//! From verified ID-token claims to the person gatehouse knows: subject `oidc:<issuer>#<sub>`
//! (stable: OpenID Connect Core §5.7 says only `iss` + `sub` identify a person), the email in
//! lowercase, and the groups from the configured claim.

use serde_json::Value;

use super::id_token::IdTokenClaims;
use super::provider::Provider;
use crate::error::Reason;
use crate::store::Person;

/// Most groups kept from one token; the rest are dropped (policies name a handful).
pub const MAX_GROUPS: usize = 256;
/// Longest group name kept, in bytes.
pub const MAX_GROUP_BYTES: usize = 256;
/// Longest email accepted (RFC 5321 §4.5.3.1.3 limits a path to 256 octets).
const MAX_EMAIL_BYTES: usize = 254;

/// The person behind verified claims, and their display name if the provider sent one.
pub fn person(
    provider: &Provider,
    claims: &IdTokenClaims,
) -> Result<(Person, Option<String>), Reason> {
    let email = claims
        .other
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| valid_email(e))
        .ok_or(Reason::UpstreamEmailMissing)?;
    // Core §5.1: email_verified is a boolean; some providers send the string "true".
    let verified = match claims.other.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    if !verified && !provider.trust_email {
        return Err(Reason::UpstreamEmailUnverified);
    }
    let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !provider.allowed_domains.is_empty() && !provider.allowed_domains.iter().any(|d| d == domain)
    {
        return Err(Reason::UpstreamDomainRefused);
    }
    let groups = match claims.other.get(&provider.groups_claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| !g.is_empty() && g.len() <= MAX_GROUP_BYTES)
            .take(MAX_GROUPS)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) if !one.is_empty() && one.len() <= MAX_GROUP_BYTES => {
            vec![one.clone()]
        }
        _ => Vec::new(),
    };
    let name = claims
        .other
        .get("name")
        .and_then(Value::as_str)
        .map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect());
    Ok((
        Person {
            subject: format!("oidc:{}#{}", claims.iss, claims.sub),
            email,
            groups,
        },
        name,
    ))
}

fn valid_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL_BYTES
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        })
}
