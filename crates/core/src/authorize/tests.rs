//! Unit tests of the individual checks; whole flows are in `tests/spec`.

use super::*;

fn form(query: &str) -> Form {
    Form::parse(query.as_bytes()).unwrap()
}

#[test]
fn response_type_must_be_exactly_code() {
    assert_eq!(check_response_type(&form("response_type=code")), Ok(()));
    assert_eq!(
        check_response_type(&form("")),
        Err(Reason::ResponseTypeMissing)
    );
    for other in ["token", "code+id_token", "CODE", "code%20"] {
        assert_eq!(
            check_response_type(&form(&format!("response_type={other}"))),
            Err(Reason::ResponseTypeUnsupported),
            "{other}"
        );
    }
}

#[test]
fn pkce_needs_an_s256_challenge() {
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    assert!(
        check_pkce(&form(&format!(
            "code_challenge={challenge}&code_challenge_method=S256"
        )))
        .is_ok()
    );
    assert_eq!(
        check_pkce(&form("code_challenge_method=S256")).unwrap_err(),
        Reason::PkceChallengeMissing
    );
    assert_eq!(
        check_pkce(&form(&format!(
            "code_challenge={challenge}&code_challenge_method=plain"
        )))
        .unwrap_err(),
        Reason::PlainPkceRefused
    );
    assert_eq!(
        check_pkce(&form(&format!("code_challenge={challenge}"))).unwrap_err(),
        Reason::PlainPkceRefused
    );
}

#[test]
fn state_is_optional_but_must_be_well_formed() {
    assert_eq!(check_state(&form("")), Ok(None));
    assert!(check_state(&form("state=abc")).unwrap().is_some());
    assert!(check_state(&form("state=a%0Ab")).is_err());
}
