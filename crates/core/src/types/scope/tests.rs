use proptest::prelude::*;

use super::*;

fn scopes(raw: &str) -> Scopes {
    Scopes::parse(raw).unwrap()
}

#[test]
fn scope_tokens_are_nqchars() {
    let rows: [(&str, Result<(), Reason>, &str); 11] = [
        ("read", Ok(()), "RFC 6749 §3.3"),
        ("mcp:tools", Ok(()), "RFC 6749 §3.3: any NQCHAR"),
        (
            "https://api.example/read",
            Ok(()),
            "RFC 6749 §3.3: URIs are common scope values",
        ),
        (
            "!#[]~",
            Ok(()),
            "RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E edges",
        ),
        ("", Err(Reason::ScopeMalformed), "RFC 6749 §3.3: 1*NQCHAR"),
        (
            "a b",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: SP separates tokens",
        ),
        (
            "say\"hi\"",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no %x22",
        ),
        (
            "back\\slash",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no %x5C",
        ),
        (
            "tab\t",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no control characters",
        ),
        (
            "lire·écrire",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: ASCII only",
        ),
        ("\x7f", Err(Reason::ScopeMalformed), "RFC 6749 §3.3: no DEL"),
    ];
    for (raw, expected, rule) in rows {
        assert_eq!(Scope::parse(raw).map(|_| ()), expected, "{raw:?}: {rule}");
    }
}

#[test]
fn scope_lists_follow_the_abnf() {
    // RFC 6749 §3.3: scope = scope-token *( SP scope-token ).
    let rows: [(&str, Result<&str, Reason>, &str); 12] = [
        ("", Ok(""), "RFC 6749 §3.3: absent scope is the empty set"),
        ("read", Ok("read"), "RFC 6749 §3.3"),
        (
            "write read",
            Ok("read write"),
            "RFC 6749 §3.3: order does not matter",
        ),
        ("read read", Ok("read"), "RFC 6749 §3.3: a set"),
        (
            "Read read",
            Ok("Read read"),
            "RFC 6749 §3.3: case-sensitive strings",
        ),
        (
            " read",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no leading SP",
        ),
        (
            "read ",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no trailing SP",
        ),
        (
            "read  write",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: single SP",
        ),
        (
            " ",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: no empty token",
        ),
        (
            "read\twrite",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: only SP separates",
        ),
        (
            "read\nwrite",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: only SP separates",
        ),
        (
            "read \"write\"",
            Err(Reason::ScopeMalformed),
            "RFC 6749 §3.3: NQCHAR",
        ),
    ];
    for (raw, expected, rule) in rows {
        let parsed = Scopes::parse(raw).map(|s| s.to_string());
        assert_eq!(parsed, expected.map(str::to_owned), "{raw:?}: {rule}");
    }
}

#[test]
fn scope_lists_are_bounded_in_tokens_and_bytes() {
    let fifty: Vec<String> = (0..MAX_SCOPES).map(|n| format!("s{n}")).collect();
    assert_eq!(scopes(&fifty.join(" ")).len(), MAX_SCOPES);
    let fifty_one = format!("{} extra", fifty.join(" "));
    assert_eq!(Scopes::parse(&fifty_one), Err(Reason::ScopeTooLarge));
    // Repeats count too: the bound limits work, not only the result.
    let repeated = vec!["read"; MAX_SCOPES + 1].join(" ");
    assert_eq!(Scopes::parse(&repeated), Err(Reason::ScopeTooLarge));
    let longest = "a".repeat(MAX_SCOPE_BYTES);
    assert_eq!(scopes(&longest).len(), 1);
    assert_eq!(
        Scopes::parse(&format!("{longest}a")),
        Err(Reason::ScopeTooLarge)
    );
    assert_eq!(
        Scope::parse(&format!("{longest}a")),
        Err(Reason::ScopeTooLarge)
    );
}

#[test]
fn subset_and_intersection_follow_set_semantics() {
    // RFC 6749 §6: a refresh may ask for the granted scopes or fewer.
    let granted = scopes("read write");
    assert!(scopes("read").is_subset_of(&granted));
    assert!(scopes("").is_subset_of(&granted));
    assert!(granted.is_subset_of(&granted));
    assert!(!scopes("read admin").is_subset_of(&granted));
    assert_eq!(scopes("read admin").intersection(&granted), scopes("read"));
    assert!(scopes("admin").intersection(&granted).is_empty());
    assert!(granted.contains(&Scope::parse("write").unwrap()));
    assert!(!granted.contains(&Scope::parse("Write").unwrap()));
    let listed: Vec<&str> = granted.iter().map(Scope::as_str).collect();
    assert_eq!(listed, ["read", "write"]);
}

#[test]
fn serde_uses_the_space_delimited_wire_form() {
    let parsed: Scopes = serde_json::from_str(r#""write read""#).unwrap();
    assert_eq!(serde_json::to_string(&parsed).unwrap(), r#""read write""#);
    assert!(serde_json::from_str::<Scopes>(r#""read  write""#).is_err());
    let one: Scope = serde_json::from_str(r#""read""#).unwrap();
    assert_eq!(one.as_str(), "read");
    assert!(serde_json::from_str::<Scope>(r#""a b""#).is_err());
}

fn token() -> impl Strategy<Value = String> {
    "[!#-\\[\\]-~]{1,12}"
}

fn is_nqchar_reference(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
}

proptest! {
    #[test]
    fn scope_parse_accepts_exactly_the_grammar(raw in any::<String>()) {
        let allowed = !raw.is_empty() && raw.len() <= MAX_SCOPE_BYTES && raw.bytes().all(is_nqchar_reference);
        prop_assert_eq!(Scope::parse(&raw).is_ok(), allowed);
    }

    #[test]
    fn scopes_parse_accepts_exactly_the_grammar(raw in "[ -~\t]{0,40}") {
        let tokens: Vec<&str> = raw.split(' ').collect();
        let allowed = raw.is_empty()
            || tokens.iter().all(|t| !t.is_empty() && t.bytes().all(is_nqchar_reference));
        prop_assert_eq!(Scopes::parse(&raw).is_ok(), allowed, "{:?}", raw);
    }

    #[test]
    fn scopes_parse_never_panics(raw in any::<String>()) {
        let _ = Scopes::parse(&raw);
    }

    #[test]
    fn display_round_trips(tokens in prop::collection::vec(token(), 0..MAX_SCOPES)) {
        let parsed = Scopes::parse(&tokens.join(" ")).unwrap();
        let shown = parsed.to_string();
        prop_assert!(!shown.contains("  ") && !shown.starts_with(' ') && !shown.ends_with(' '));
        prop_assert_eq!(Scopes::parse(&shown), Ok(parsed.clone()));
        let expected: BTreeSet<&str> = tokens.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = parsed.iter().map(Scope::as_str).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn intersection_is_a_subset_of_both(
        a in prop::collection::vec("[a-d]", 0..5),
        b in prop::collection::vec("[a-d]", 0..5),
    ) {
        let a = Scopes::parse(&a.join(" ")).unwrap();
        let b = Scopes::parse(&b.join(" ")).unwrap();
        let both = a.intersection(&b);
        prop_assert!(both.is_subset_of(&a) && both.is_subset_of(&b));
        prop_assert_eq!(a.is_subset_of(&b), a.intersection(&b) == a);
    }
}
