use super::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const DEMO_HASH: &str =
    "pbkdf2-sha256:100000:KZzd3ULarogF1Gf7kL2G_w:apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4";

fn apps(json: &str) -> Result<Config, ConfigError> {
    Config::from_settings(Settings {
        apps: Some(json),
        local_accounts: None,
        secret: Some(SECRET),
        ..Settings::default()
    })
}

fn app(fields: &str) -> String {
    format!(
        r#"[{{"name":"Wiki","host":"wiki.example.com","scopes":{{"read":"Read pages"}},"policy":{{"allow_domains":["example.com"]}},"origin":"https://wiki.internal.example"{fields}}}]"#
    )
}

#[test]
fn a_minimal_app_gets_secure_defaults() {
    let config = apps(&app("")).unwrap();
    let wiki = &config.apps[0];
    assert_eq!(wiki.host, HostPattern::Exact("wiki.example.com".into()));
    assert_eq!(wiki.access_token_ttl_secs, ACCESS_TOKEN_TTL_SECS);
    assert!(wiki.default_scopes.is_empty());
    assert!(config.accounts.is_empty());
}

#[test]
fn each_mistake_names_the_setting_and_the_problem() {
    let cases: &[(&str, &str)] = &[
        ("", "not valid"),
        ("[]", "no app"),
        (r#"[{"name":"W"}]"#, "not valid"),
        (&app(r#","color":"blue""#), "unknown field"),
        (&app(r#","default_scopes":["write"]"#), "does not offer"),
        (
            &app(r#","access_token_ttl_secs":5"#),
            "between 60 and 86400",
        ),
        (&app(r#","refresh_token_ttl_secs":61"#), "shorter than"),
        (
            &app("").replace("wiki.example.com", "wiki example"),
            "not a host name",
        ),
        (&app("").replace(r#""read""#, r#""re\"ad""#), "scope"),
        (
            &app("").replace(r#"{"read":"Read pages"}"#, "{}"),
            "no scope",
        ),
        (
            &app("").replace(r#""allow_domains":["example.com"]"#, ""),
            "admits nobody",
        ),
    ];
    for (json, problem) in cases {
        let error = apps(json).unwrap_err();
        assert_eq!(error.setting, "APPS", "{json}");
        assert!(error.problem.contains(problem), "{json}: {}", error.problem);
        assert!(error.to_string().contains("Fix:"));
    }
    assert_eq!(
        Config::from_settings(Settings {
            apps: None,
            local_accounts: None,
            secret: Some(SECRET),
            ..Settings::default()
        })
        .unwrap_err()
        .problem,
        "it is not set"
    );
}

#[test]
fn the_secret_is_required_and_long() {
    for secret in [
        None,
        Some("short"),
        Some("                                   "),
    ] {
        let error = Config::from_settings(Settings {
            apps: Some(&app("")),
            local_accounts: None,
            secret,
            ..Settings::default()
        })
        .unwrap_err();
        assert_eq!(error.setting, "GATEHOUSE_SECRET");
        assert!(error.fix.contains("wrangler secret put"));
    }
}

#[test]
fn derived_keys_differ_by_label_and_by_secret() {
    let a = ServerSecret::parse_for_tests(SECRET);
    let b = ServerSecret::parse_for_tests(&format!("{SECRET}!"));
    assert_ne!(a.derive("refresh"), a.derive("csrf"));
    assert_ne!(a.derive("refresh"), b.derive("refresh"));
    assert_eq!(a.derive("refresh"), a.derive("refresh"));
    assert_eq!(format!("{a:?}"), "ServerSecret([redacted])");
}

#[test]
fn local_accounts_are_validated_and_lowercased() {
    let apps = app("");
    let configure = |accounts: &str| {
        Config::from_settings(Settings {
            apps: Some(&apps),
            local_accounts: Some(accounts),
            secret: Some(SECRET),
            ..Settings::default()
        })
    };
    let ok = format!(r#"{{"Alice@Example.com":"{DEMO_HASH}"}}"#);
    let config = configure(&ok).unwrap();
    assert!(config.accounts.contains_key("alice@example.com"));
    for (bad, problem) in [
        (r#"{"alice":"x"}"#.to_string(), "not an email"),
        (r#"{"a@example.com":"plain"}"#.to_string(), "is not pbkdf2"),
        (
            format!(
                r#"{{"a@example.com":"{}"}}"#,
                DEMO_HASH.replace("100000", "10")
            ),
            "rounds",
        ),
        ("[1]".to_string(), "not valid"),
    ] {
        let error = configure(&bad).unwrap_err();
        assert_eq!(error.setting, "LOCAL_ACCOUNTS");
        assert!(error.problem.contains(problem), "{bad}: {}", error.problem);
    }
}

#[test]
fn policy_admits_by_email_or_exact_domain_and_deny_wins() {
    let policy = Policy {
        allow_emails: vec!["Bob@Partner.example".into()],
        allow_domains: vec!["example.com".into()],
        deny_emails: vec!["mallory@example.com".into()],
        ..Policy::default()
    };
    assert!(policy.admits("alice@example.com", &[]));
    assert!(policy.admits("ALICE@EXAMPLE.COM", &[]));
    assert!(policy.admits("bob@partner.example", &[]));
    assert!(!policy.admits("mallory@example.com", &[]));
    assert!(
        !policy.admits("eve@sub.example.com", &[]),
        "subdomains are other domains"
    );
    assert!(!policy.admits("eve@example.com.evil.example", &[]));
    assert!(!policy.admits("example.com", &[]));
    assert!(!policy.admits("eve@evil.example", &[]));
}

#[test]
fn hosts_match_case_insensitively_and_any_matches_all() {
    let config = apps(&app("")).unwrap();
    assert!(config.app_for_test("WIKI.example.com").is_some());
    assert!(config.app_for_test("wiki.example.com:8443").is_none());
    assert!(config.app_for_test("evil.example").is_none());
    let any = apps(&app("").replace("wiki.example.com", "*")).unwrap();
    for local in [
        "127.0.0.1:40123",
        "127.0.0.1",
        "localhost:8787",
        "LOCALHOST",
        "[::1]:8787",
        "127.9.9.9:1",
    ] {
        assert!(any.app_for_test(local).is_some(), "{local}");
    }
    for public in [
        "wiki.example.com",
        "evil.example:8787",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "[::2]:80",
        "10.0.0.1:8787",
    ] {
        assert!(
            any.app_for_test(public).is_none(),
            "\"*\" must not match {public}"
        );
    }
}

#[test]
fn key_rotation_defaults_to_thirty_days_and_is_bounded() {
    let configure = |rotation| {
        Config::from_settings(Settings {
            apps: Some(&app("")),
            secret: Some(SECRET),
            signing_key_rotation_secs: rotation,
            ..Settings::default()
        })
    };
    assert_eq!(
        configure(None).unwrap().signing_key_rotation_secs,
        SIGNING_KEY_ROTATION_SECS
    );
    assert_eq!(
        configure(Some("3600")).unwrap().signing_key_rotation_secs,
        3600
    );
    for bad in ["0", "-5", "soon", "99999999999"] {
        assert_eq!(
            configure(Some(bad)).unwrap_err().setting,
            "SIGNING_KEY_ROTATION_SECS",
            "{bad}"
        );
    }
}

#[test]
fn groups_admit_and_deny_exactly() {
    let policy = Policy {
        allow_groups: vec!["engineering".into()],
        deny_groups: vec!["suspended".into()],
        ..Policy::default()
    };
    let groups = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert!(policy.admits("a@anywhere.example", &groups(&["engineering"])));
    assert!(
        !policy.admits("a@anywhere.example", &groups(&["Engineering"])),
        "case-sensitive"
    );
    assert!(
        !policy.admits("a@anywhere.example", &groups(&["engineering", "suspended"])),
        "deny wins"
    );
    assert!(!policy.admits("a@anywhere.example", &[]));
}

#[test]
fn origins_routes_and_public_paths_are_validated() {
    let config = apps(&app(
        r#","routes":[{"methods":["POST"],"path":"/api/**","scope":"read"}],"public_paths":["/health","/static/**"]"#,
    ))
    .unwrap();
    let wiki = &config.apps[0];
    assert_eq!(
        wiki.origin,
        Some(Origin::Url("https://wiki.internal.example".into()))
    );
    assert!(wiki.agents, "agents are admitted unless switched off");
    assert_eq!(wiki.routes.len(), 1);
    assert!(wiki.public_paths[1].matches("/static/app.css"));
    let cases: &[(String, &str)] = &[
        (
            app("").replace("https://wiki.internal.example", "ftp://files.example"),
            "must be an http(s) URL",
        ),
        (
            app("").replace(
                "https://wiki.internal.example",
                "https://u:p@wiki.internal.example",
            ),
            "must be an http(s) URL",
        ),
        (
            app("").replace(
                "https://wiki.internal.example",
                "https://wiki.internal.example/?q=1",
            ),
            "must be an http(s) URL",
        ),
        (
            app("").replace("https://wiki.internal.example", "not a url"),
            "not a URL",
        ),
        (
            app("").replace(r#","origin":"https://wiki.internal.example""#, ""),
            "origin is required",
        ),
        (
            app(r#","routes":[{"path":"/api/**","scope":"admin"}]"#),
            "does not offer",
        ),
        (
            app(r#","routes":[{"path":"api/**","scope":"read"}]"#),
            "must start with /",
        ),
        (app(r#","public_paths":["/a/**/b"]"#), "may only end"),
        (
            app("").replace("https://wiki.internal.example", "service:"),
            "no valid service binding",
        ),
        (
            app("").replace("https://wiki.internal.example", "service:WIKI-ORIGIN"),
            "no valid service binding",
        ),
    ];
    for (json, problem) in cases {
        let error = apps(json).unwrap_err();
        assert!(error.problem.contains(problem), "{json}: {}", error.problem);
    }
    let bound =
        apps(&app("").replace("https://wiki.internal.example", "service:WIKI_ORIGIN")).unwrap();
    assert_eq!(
        bound.apps[0].origin,
        Some(Origin::Service("WIKI_ORIGIN".into()))
    );
    let local = apps(
        &app("")
            .replace("wiki.example.com", "*")
            .replace(r#","origin":"https://wiki.internal.example""#, ""),
    )
    .unwrap();
    assert_eq!(
        local.apps[0].origin, None,
        "the demo app serves local development"
    );
}

impl Config {
    fn app_for_test(&self, host: &str) -> Option<&App> {
        self.app_for(host, "/")
    }
}

#[test]
fn the_longest_path_prefix_on_the_host_serves_a_path() {
    let json = r#"[
        {"name":"Root","host":"apps.example.com","scopes":{"read":"R"},"policy":{"allow_domains":["example.com"]},"origin":"https://root.internal"},
        {"name":"Wiki","host":"apps.example.com","path_prefix":"/wiki","scopes":{"read":"R"},"policy":{"allow_domains":["example.com"]},"origin":"https://wiki.internal"},
        {"name":"Wiki API","host":"apps.example.com","path_prefix":"/wiki/api","scopes":{"read":"R"},"policy":{"allow_domains":["example.com"]},"origin":"https://api.internal"}
    ]"#;
    let config = apps(json).unwrap();
    let name = |path| {
        config
            .app_for("apps.example.com", path)
            .map(|a| a.name.as_str())
    };
    assert_eq!(name("/"), Some("Root"));
    assert_eq!(
        name("/wikis"),
        Some("Root"),
        "a prefix covers whole segments only"
    );
    assert_eq!(name("/wiki"), Some("Wiki"));
    assert_eq!(name("/wiki/page"), Some("Wiki"));
    assert_eq!(name("/wiki/api/v1"), Some("Wiki API"));
    assert!(config.app_for("other.example.com", "/wiki").is_none());
    let twins = json.replace(r#""path_prefix":"/wiki/api""#, r#""path_prefix":"/wiki""#);
    assert!(
        apps(&twins)
            .unwrap_err()
            .problem
            .contains("same host and path_prefix")
    );
    for bad in ["wiki", "/wiki/", "/../x", "/a//b", "/a b", "/%2e"] {
        let json = app(&format!(r#","path_prefix":"{bad}""#));
        assert!(
            apps(&json).unwrap_err().problem.contains("path_prefix"),
            "{bad}"
        );
    }
}

#[test]
fn the_admin_token_is_optional_long_and_bearer_safe() {
    let configure = |token| {
        Config::from_settings(Settings {
            apps: Some(&app("")),
            secret: Some(SECRET),
            admin_token: token,
            ..Settings::default()
        })
    };
    assert!(configure(None).unwrap().admin_token.is_none());
    assert!(
        configure(Some("b5bbWq3rRa8t+Xw0/9ZkYl2hTyu7Qm1nVcJx4sPoE6g="))
            .unwrap()
            .admin_token
            .is_some()
    );
    for bad in [
        "short",
        "has spaces in it and is long enough to pass",
        "quote\"quote\"quote\"quote\"quote\"quote\"",
    ] {
        assert_eq!(
            configure(Some(bad)).unwrap_err().setting,
            "ADMIN_TOKEN",
            "{bad}"
        );
    }
}

#[test]
fn settings_are_looked_up_by_their_names_with_the_oidc_client_secrets_they_name() {
    let providers = r#"[{"id":"corp","name":"Corp","issuer":"https://idp.example.com","client_id":"gh","client_secret_env":"CORP_SECRET"}]"#;
    let settings = BTreeMap::from([
        (names::APPS, app("")),
        (names::GATEHOUSE_SECRET, SECRET.to_owned()),
        (names::OIDC_PROVIDERS, providers.to_owned()),
        ("CORP_SECRET", "a-client-secret".to_owned()),
    ]);
    let config = Config::from_lookup(|name| settings.get(name).cloned()).unwrap();
    assert_eq!(config.apps.len(), 1);
    assert_eq!(config.oidc_providers.len(), 1);
    // The client secret is read under the name OIDC_PROVIDERS gives it, and required.
    let without_secret = |name: &str| {
        (name != "CORP_SECRET")
            .then(|| settings.get(name).cloned())
            .flatten()
    };
    let error = Config::from_lookup(without_secret).unwrap_err();
    assert_eq!(error.setting, "OIDC_PROVIDERS", "{error}");
    // Nothing set: the first missing setting is named.
    assert_eq!(Config::from_lookup(|_| None).unwrap_err().setting, "APPS");
}

#[test]
fn a_configuration_for_local_development_is_not_ready_for_a_zone() {
    let public = apps(&app("")).unwrap();
    assert!(public.deploy_problems().is_empty());
    let cases = [
        (
            app("").replace("wiki.example.com", "*"),
            "answers loopback hosts only",
        ),
        (
            app("").replace("wiki.example.com", "127.0.0.1:8787"),
            "loopback host",
        ),
        (
            app("").replace("wiki.example.com", "localhost"),
            "loopback host",
        ),
        (
            app("")
                .replace("wiki.example.com", "*")
                .replace(r#","origin":"https://wiki.internal.example""#, ""),
            "answers loopback hosts only",
        ),
    ];
    for (json, problem) in cases {
        let problems = apps(&json).unwrap().deploy_problems();
        assert_eq!(problems.len(), 1, "{json}: {problems:?}");
        assert_eq!(problems[0].setting, "APPS");
        assert!(
            problems[0].problem.contains(problem),
            "{json}: {problems:?}"
        );
    }
}

#[test]
fn the_example_an_apps_error_suggests_is_itself_a_valid_configuration() {
    let fix = apps("[]").unwrap_err().fix;
    let example = fix.split_once("e.g. ").unwrap().1;
    let config = apps(example).unwrap_or_else(|e| panic!("{example}: {e}"));
    assert!(config.deploy_problems().is_empty());
}
