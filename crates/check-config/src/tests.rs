//! The checks against the shipped files and against each mistake an operator makes on the way
//! to a zone.

use super::*;

const SHIPPED: &str = include_str!("../../../wrangler.toml");
const DEV_VARS: &str = include_str!("../../../.dev.vars");
const PRODUCTION: &str = include_str!("../../../examples/wrangler.production.toml");
const D1_ID: &str = "6f2c1d7e-3b1a-4c8e-9a55-1f0e2d3c4b5a";
const KV_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn args(deploy: bool, secrets: &[&str]) -> Args {
    Args {
        config: "wrangler.toml".into(),
        env: None,
        vars_file: None,
        deploy,
        secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The production example with its ids replaced, as the README's guide says.
fn production() -> String {
    PRODUCTION
        .replace("REPLACE-with-the-id-from-wrangler-d1-create", D1_ID)
        .replace(
            "REPLACE-with-the-id-from-wrangler-kv-namespace-create",
            KV_ID,
        )
}

fn settings(problems: &[Problem]) -> Vec<&str> {
    problems.iter().map(|p| p.setting.as_str()).collect()
}

const SECRETS: &[&str] = &["GATEHOUSE_SECRET", "OKTA_CLIENT_SECRET"];

#[test]
fn the_shipped_local_configuration_is_fit_for_a_local_run() {
    let problems = check(&args(false, &[]), SHIPPED, Some(DEV_VARS), |_| None);
    assert!(problems.is_empty(), "{:?}", settings(&problems));
}

#[test]
fn the_shipped_configuration_is_not_deployable_and_each_reason_is_named() {
    let problems = check(&args(true, &[]), SHIPPED, None, |_| None);
    let named = settings(&problems);
    assert!(named.contains(&"d1_databases.DB.database_id"), "{named:?}");
    assert!(named.contains(&"kv_namespaces.KV.id"), "{named:?}");
    // No APPS at all: the deploy would answer every visitor with a 503.
    assert!(named.contains(&"APPS"), "{named:?}");
    assert!(problems.iter().all(|p| !p.fix.is_empty()));
}

#[test]
fn the_production_example_with_its_ids_replaced_is_deployable() {
    let problems = check(&args(true, SECRETS), &production(), None, |_| None);
    assert!(problems.is_empty(), "{:?}", settings(&problems));
    // Without its ids replaced it is not.
    let problems = check(&args(true, SECRETS), PRODUCTION, None, |_| None);
    assert_eq!(
        settings(&problems),
        ["d1_databases.DB.database_id", "kv_namespaces.KV.id"]
    );
}

#[test]
fn secrets_must_be_set_as_secrets() {
    // Not declared and not in the environment: named, with the command that sets it.
    let problems = check(&args(true, &[]), &production(), None, |_| None);
    assert_eq!(settings(&problems), ["GATEHOUSE_SECRET"]);
    assert!(
        problems[0]
            .fix
            .contains("wrangler secret put GATEHOUSE_SECRET")
    );
    // From the environment (a deploy pipeline), its value is judged: too short is refused.
    let short = |name: &str| (name == "GATEHOUSE_SECRET").then(|| "short".to_owned());
    let problems = check(
        &args(true, &["OKTA_CLIENT_SECRET"]),
        &production(),
        None,
        short,
    );
    assert_eq!(settings(&problems), ["GATEHOUSE_SECRET"]);
    // The OIDC client secret OIDC_PROVIDERS names is required too.
    let problems = check(
        &args(true, &["GATEHOUSE_SECRET"]),
        &production(),
        None,
        |_| None,
    );
    assert_eq!(settings(&problems), ["OIDC_PROVIDERS"]);
    // Written in [vars], a secret is refused for a deploy even though it would work.
    let in_vars = production().replace(
        "[vars]\n",
        "[vars]\nGATEHOUSE_SECRET = \"0123456789abcdef0123456789abcdef0123\"\n",
    );
    let problems = check(&args(true, &["OKTA_CLIENT_SECRET"]), &in_vars, None, |_| {
        None
    });
    assert_eq!(settings(&problems), ["GATEHOUSE_SECRET"]);
    assert!(problems[0].problem.contains("[vars]"));
}

#[test]
fn the_previous_secret_of_a_rotation_is_a_secret_checked_like_the_current_one() {
    let both = [
        "GATEHOUSE_SECRET",
        "GATEHOUSE_SECRET_PREVIOUS",
        "OKTA_CLIENT_SECRET",
    ];
    let problems = check(&args(true, &both), &production(), None, |_| None);
    assert_eq!(settings(&problems), Vec::<&str>::new());
    let short = |name: &str| (name == "GATEHOUSE_SECRET_PREVIOUS").then(|| "short".to_owned());
    let problems = check(&args(true, SECRETS), &production(), None, short);
    assert_eq!(settings(&problems), ["GATEHOUSE_SECRET_PREVIOUS"]);
    let in_vars = production().replace(
        "[vars]\n",
        "[vars]\nGATEHOUSE_SECRET_PREVIOUS = \"0123456789abcdef0123456789abcdef0123\"\n",
    );
    let problems = check(&args(true, SECRETS), &in_vars, None, |_| None);
    assert_eq!(settings(&problems), ["GATEHOUSE_SECRET_PREVIOUS"]);
    assert!(problems[0].problem.contains("[vars]"));
}

#[test]
fn each_deploy_mistake_names_the_setting() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[[kv_namespaces]]\nbinding = \"KV\"",
            "[[kv_namespaces]]\nbinding = \"CACHE\"",
            "kv_namespaces",
        ),
        (
            "dead_letter_queue = \"revocations-dlq\"\n",
            "",
            "queues.consumers",
        ),
        ("crons = [\"* * * * *\"]", "crons = []", "triggers.crons"),
        (
            "binding = \"GRAFANA\"",
            "binding = \"GRAFANA_ORIGIN\"",
            "services",
        ),
        (
            "{ pattern = \"grafana.example.com\", custom_domain = true },",
            "",
            "routes",
        ),
        ("host = \"wiki.example.com\"", "host = \"*\"", "APPS"),
        (", origin = \"https://wiki-origin.example.com\"", "", "APPS"),
        (
            "allow_domains = [\"example.com\"]",
            "allow_domains = []",
            "APPS",
        ),
        (
            "scopes = { read = \"Read dashboards\" }",
            "scopes = { read = \"Read dashboards\" }, colour = \"blue\"",
            "APPS",
        ),
    ];
    for (from, to, setting) in cases {
        let toml = production();
        assert!(toml.contains(from), "{from}");
        let toml = toml.replacen(from, to, 1);
        let problems = check(&args(true, SECRETS), &toml, None, |_| None);
        assert_eq!(settings(&problems), [*setting], "{from} → {to}");
    }
}

#[test]
fn apps_written_as_a_toml_array_or_a_json_string_configure_the_same() {
    // The production example writes APPS as a TOML array; the same apps as a JSON string.
    let toml = production();
    let wrangler = Wrangler::parse(&toml, None).unwrap();
    let json = wrangler.vars.get("APPS").unwrap().clone();
    assert!(json.starts_with("[{"), "{json}");
    let start = toml.find("APPS = [").unwrap();
    let end = toml.find("\nOIDC_PROVIDERS = [").unwrap() + 1;
    let as_string = format!("{}APPS = '{}'\n{}", &toml[..start], json, &toml[end..]);
    let problems = check(&args(true, SECRETS), &as_string, None, |_| None);
    let why: Vec<_> = problems.iter().map(|p| &p.problem).collect();
    assert!(problems.is_empty(), "{why:?}");
}

#[test]
fn a_vars_file_overrides_vars_and_is_refused_for_a_deploy() {
    let vars = parse_vars_file("# comment\nA='x=1'\nB=\"two\\nlines\"\nC=plain # note\n\nD=");
    assert_eq!(vars.get("A").map(String::as_str), Some("x=1"));
    assert_eq!(vars.get("B").map(String::as_str), Some("two\nlines"));
    assert_eq!(vars.get("C").map(String::as_str), Some("plain"));
    assert_eq!(vars.get("D").map(String::as_str), Some(""));
    let deploy_with_vars_file = ["--deploy", "--vars-file", ".dev.vars"].map(String::from);
    assert!(parse_args(deploy_with_vars_file.into_iter()).is_err());
}

#[test]
fn ids_and_routes_are_recognised_as_wrangler_writes_them() {
    assert!(is_real_id(D1_ID));
    assert!(is_real_id(KV_ID));
    assert!(!is_real_id("00000000-0000-4000-8000-000000000000"));
    assert!(!is_real_id("00000000000000000000000000000000"));
    assert!(!is_real_id("REPLACE-with-the-id-from-wrangler-d1-create"));
    assert!(route_covers("wiki.example.com", "wiki.example.com"));
    assert!(route_covers("*.example.com", "wiki.example.com:443"));
    assert!(!route_covers("*.example.com", "wiki.example.org"));
    let w = Wrangler::parse("route = \"https://a.example.com/*\"\nroutes = [\"b.example.com/x/*\", { pattern = \"c.example.com\", custom_domain = true }]", None).unwrap();
    assert_eq!(
        w.route_hosts,
        ["a.example.com", "b.example.com", "c.example.com"]
    );
    let staging = "[env.staging]\nroutes = [\"s.example.com/*\"]\n[env.staging.vars]\nAPPS = \"[]\"\n[triggers]\ncrons = [\"* * * * *\"]";
    let w = Wrangler::parse(staging, Some("staging")).unwrap();
    assert_eq!(w.vars.get("APPS").map(String::as_str), Some("[]"));
    assert_eq!(
        w.crons,
        ["* * * * *"],
        "triggers are inherited by environments"
    );
    assert!(Wrangler::parse(staging, Some("production")).is_err());
}
