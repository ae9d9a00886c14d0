//! `gatehouse-check-config`: judges gatehouse's configuration the way the Worker will, before it
//! runs or is deployed, so a mistake is reported to the operator (naming the setting and the fix)
//! instead of to the first visitor.
//!
//! ```text
//! gatehouse-check-config [--config wrangler.toml] [--env NAME] [--vars-file .dev.vars]
//!                        [--deploy] [--secret NAME]...
//! ```
//!
//! Settings come from `[vars]` (or `[env.NAME.vars]`), then the vars file (as `wrangler dev`
//! reads `.dev.vars`), then, for secrets only, the process environment. `--deploy` checks what
//! `wrangler deploy` would ship: no vars file (deploys never read it), real D1/KV ids, the
//! Queue, cron and routes gatehouse needs, secrets set as secrets (`--secret NAME` says a secret
//! is set with `wrangler secret put` without handing its value over), and apps fit for a public
//! zone. Exit status: 0 fit, 1 problems found, 2 the command could not run.

mod wrangler;

use std::collections::BTreeMap;
use std::process::ExitCode;

use gatehouse_core::config::{Config, ConfigError, HostPattern, Origin, names};

use crate::wrangler::{Wrangler, is_real_id, parse_vars_file, route_covers};

/// A problem to report: which setting, what is wrong, how to fix it.
struct Problem {
    setting: String,
    problem: String,
    fix: String,
}

impl From<ConfigError> for Problem {
    fn from(e: ConfigError) -> Self {
        Self {
            setting: e.setting.to_owned(),
            problem: e.problem,
            fix: e.fix.to_owned(),
        }
    }
}

fn problem(setting: &str, problem: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        setting: setting.to_owned(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

struct Args {
    config: String,
    env: Option<String>,
    vars_file: Option<String>,
    deploy: bool,
    secrets: Vec<String>,
}

const USAGE: &str = "usage: gatehouse-check-config [--config wrangler.toml] [--env NAME] \
                     [--vars-file .dev.vars] [--deploy] [--secret NAME]...";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        config: "wrangler.toml".into(),
        env: None,
        vars_file: None,
        deploy: false,
        secrets: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => parsed.config = value()?,
            "--env" => parsed.env = Some(value()?),
            "--vars-file" => parsed.vars_file = Some(value()?),
            "--secret" => parsed.secrets.push(value()?),
            "--deploy" => parsed.deploy = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if parsed.deploy && parsed.vars_file.is_some() {
        return Err(
            "--deploy ignores vars files, as `wrangler deploy` does: drop --vars-file".into(),
        );
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("gatehouse-check-config: {message}");
            return ExitCode::from(2);
        }
    };
    let read =
        |path: &str| std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"));
    let texts = read(&args.config).and_then(|toml| {
        let vars = args.vars_file.as_deref().map(read).transpose()?;
        Ok((toml, vars))
    });
    let (toml, vars_file) = match texts {
        Ok(texts) => texts,
        Err(message) => {
            eprintln!("gatehouse-check-config: {message}");
            return ExitCode::from(2);
        }
    };
    let environment = |name: &str| std::env::var(name).ok();
    let problems = check(&args, &toml, vars_file.as_deref(), environment);
    let what = if args.deploy { "deploy" } else { "local run" };
    if problems.is_empty() {
        println!("{}: configuration fit for a {what}", args.config);
        return ExitCode::SUCCESS;
    }
    for p in &problems {
        println!("error in {}: {}\n  fix: {}", p.setting, p.problem, p.fix);
    }
    println!(
        "{}: {} problem(s); not fit for a {what}",
        args.config,
        problems.len()
    );
    ExitCode::from(1)
}

/// Every problem with this configuration, for a local run or (`args.deploy`) a deploy.
fn check(
    args: &Args,
    toml: &str,
    vars_file: Option<&str>,
    environment: impl Fn(&str) -> Option<String>,
) -> Vec<Problem> {
    let wrangler = match Wrangler::parse(toml, args.env.as_deref()) {
        Ok(w) => w,
        Err(message) => {
            return vec![problem(
                &args.config,
                message,
                "fix the file wrangler reads",
            )];
        }
    };
    let vars_file = vars_file.map(parse_vars_file).unwrap_or_default();
    let mut problems = Vec::new();
    let secret_names = secret_names(&wrangler, &vars_file);
    if args.deploy {
        for name in &secret_names {
            if wrangler.vars.contains_key(name) {
                problems.push(problem(
                    name,
                    "it is a secret but is written in wrangler.toml's [vars], which is deployed and readable in the dashboard",
                    format!("remove it from [vars] and run `npx wrangler secret put {name}`"),
                ));
            }
        }
        problems.extend(deploy_bindings(&wrangler));
    }
    // A secret the operator says is set but does not hand over is judged with a stand-in of
    // the right shape: its value cannot be checked here, only that it exists. Each secret's
    // stand-in differs, as the secrets must (GATEHOUSE_SECRET_PREVIOUS is not GATEHOUSE_SECRET).
    let stand_in = |name: &str| format!("{name}-{}", "s".repeat(64));
    let lookup = |name: &str| {
        vars_file
            .get(name)
            .or_else(|| wrangler.vars.get(name))
            .cloned()
            .or_else(|| {
                secret_names
                    .iter()
                    .any(|s| s == name)
                    .then(|| environment(name))
                    .flatten()
            })
            .or_else(|| {
                args.secrets
                    .iter()
                    .any(|s| s == name)
                    .then(|| stand_in(name))
            })
    };
    match Config::from_lookup(lookup) {
        Ok(config) => {
            if args.deploy {
                problems.extend(config.deploy_problems().into_iter().map(Problem::from));
                problems.extend(app_wiring(&config, &wrangler));
            }
        }
        Err(error) => {
            let mut p = Problem::from(error);
            if secret_names.contains(&p.setting) && p.problem.contains("not set") {
                p.fix = format!(
                    "{}; for a deploy, run `npx wrangler secret put {}` and pass --secret {}",
                    p.fix, p.setting, p.setting
                );
            }
            problems.push(p);
        }
    }
    problems
}

/// The secrets gatehouse reads: the fixed ones and the client secrets `OIDC_PROVIDERS` names.
fn secret_names(wrangler: &Wrangler, vars_file: &BTreeMap<String, String>) -> Vec<String> {
    let providers = vars_file
        .get(names::OIDC_PROVIDERS)
        .or_else(|| wrangler.vars.get(names::OIDC_PROVIDERS));
    names::SECRETS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(gatehouse_core::oidc::provider::secret_names(
            providers.map(String::as_str),
        ))
        .collect()
}

/// The bindings, Queue and cron gatehouse needs in a deployment, with real resource ids.
fn deploy_bindings(w: &Wrangler) -> Vec<Problem> {
    let mut problems = Vec::new();
    match w.d1.get("DB") {
        None => problems.push(problem(
            "d1_databases",
            "no D1 database is bound as DB",
            "add [[d1_databases]] with binding = \"DB\" and the id `npx wrangler d1 create gatehouse` prints",
        )),
        Some(id) if !is_real_id(id) => problems.push(problem(
            "d1_databases.DB.database_id",
            format!("{id:?} is a placeholder, not a database id"),
            "run `npx wrangler d1 create gatehouse` and put the database_id it prints here",
        )),
        Some(_) => {}
    }
    match w.kv.get("KV") {
        None => problems.push(problem(
            "kv_namespaces",
            "no KV namespace is bound as KV",
            "add [[kv_namespaces]] with binding = \"KV\" and the id `npx wrangler kv namespace create KV` prints",
        )),
        Some(id) if !is_real_id(id) => problems.push(problem(
            "kv_namespaces.KV.id",
            format!("{id:?} is a placeholder, not a namespace id"),
            "run `npx wrangler kv namespace create KV` and put the id it prints here",
        )),
        Some(_) => {}
    }
    let queue = w.producers.get("REVOCATIONS");
    if queue.is_none() {
        problems.push(problem(
            "queues.producers",
            "no Queue producer is bound as REVOCATIONS",
            "add [[queues.producers]] binding = \"REVOCATIONS\", queue = \"revocations\" as in the shipped wrangler.toml",
        ));
    }
    if let Some(queue) = queue {
        match w.consumers.get(queue) {
            None => problems.push(problem(
                "queues.consumers",
                format!("nothing consumes the {queue:?} Queue, so queued revocations are never applied"),
                "add [[queues.consumers]] for it, with a dead_letter_queue, as in the shipped wrangler.toml",
            )),
            Some(None) => problems.push(problem(
                "queues.consumers",
                format!("the {queue:?} consumer has no dead_letter_queue, so a revocation that keeps failing is dropped"),
                "set dead_letter_queue = \"revocations-dlq\" on it, as in the shipped wrangler.toml",
            )),
            Some(Some(_)) => {}
        }
    }
    if w.crons.is_empty() {
        problems.push(problem(
            "triggers.crons",
            "no cron trigger, so writes held during migration mode or an outage are never drained",
            "add [triggers] crons = [\"* * * * *\"]",
        ));
    }
    problems
}

/// Apps whose host no route sends to this Worker (they would never see a request), and apps
/// whose origin is a service binding wrangler.toml does not declare.
fn app_wiring(config: &Config, w: &Wrangler) -> Vec<Problem> {
    let unbound = config.apps.iter().filter_map(|app| match &app.origin {
        Some(Origin::Service(binding)) if !w.services.contains(binding) => Some(problem(
            "services",
            format!("app {:?} is served by the service binding {binding:?}, which wrangler.toml does not declare", app.name),
            format!("add [[services]] binding = \"{binding}\", service = \"<the origin Worker's name>\""),
        )),
        _ => None,
    });
    let unrouted = config
        .apps
        .iter()
        .filter_map(|app| match &app.host {
            HostPattern::Exact(host)
                if !w.route_hosts.iter().any(|r| route_covers(r, host)) =>
            {
                Some(problem(
                    "routes",
                    format!("no route sends {host:?} (app {:?}) to this Worker", app.name),
                    format!("add routes = [{{ pattern = \"{host}\", custom_domain = true }}] (or a zone route \"{host}/*\")"),
                ))
            }
            _ => None,
        });
    unbound.chain(unrouted).collect()
}

#[cfg(test)]
mod tests;
