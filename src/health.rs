//! `GET /healthz`: the liveness answer, and for the admin a round trip to D1 and KV and a look at
//! the Queue binding (who gets which, and what the deep check may do, is decided in
//! `gatehouse_core::health`).

use gatehouse_core::config::{Config, ConfigError};
use gatehouse_core::health::{Check, Depth, Liveness, Plan, Report};
use gatehouse_core::signer::Signer;
use gatehouse_core::store::Store;
use worker::{Env, Response, Result};

use crate::oauth::AuthServer;
use crate::request::Incoming;
use crate::{env, http, random};

/// KV refuses expirations shorter than 60 seconds.
const KV_PROBE_TTL_SECS: u64 = 60;
/// The key the deep check reads in migration mode, where it writes nothing. Never written: the
/// read proves the binding answers.
const KV_READ_ONLY_KEY: &str = "health:read-only";

/// The liveness answer: whether the configuration parses. No storage is touched.
pub fn liveness(config: std::result::Result<&Config, &ConfigError>) -> Result<Response> {
    let answer = Liveness::of(config);
    http::json(answer.status(), &answer)
}

/// The answer for a request on an app's host: the deep check for the admin, the liveness answer
/// for everyone else.
pub async fn respond<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    env: &Env,
    req: &Incoming,
) -> Result<Response> {
    let presented = crate::admin::Presented::of(server, req)?;
    match server.health_depth(&presented.credentials()).await {
        Ok(Depth::Liveness) => liveness(Ok(server.config)),
        Ok(Depth::Deep) => {
            let report = deep(env, Plan::for_config(server.config)).await;
            http::json(report.status(), &report)
        }
        Err(failure) => crate::admin::answer(Err::<(), _>(failure)),
    }
}

async fn deep(env: &Env, plan: Plan) -> Report {
    Report::new(
        plan,
        check_d1(env).await,
        check_kv(env, plan).await,
        check_queue(env),
    )
}

async fn check_d1(env: &Env) -> Check {
    let schema = async {
        env.d1(env::DB)?
            .prepare("SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1")
            .first::<String>(Some("name"))
            .await
    };
    match schema.await {
        Ok(Some(name)) => Check::passed(format!("schema at migration {name}")),
        Ok(None) | Err(_) => Check::failed(
            "D1 binding `DB` has no schema: run `npx wrangler d1 migrations apply DB --local` \
             (or `--remote` for a deployment)",
        ),
    }
}

async fn check_kv(env: &Env, plan: Plan) -> Check {
    if !plan.kv_write {
        let read =
            async { Ok::<_, worker::Error>(env.kv(env::KV)?.get(KV_READ_ONLY_KEY).text().await?) };
        return match read.await {
            Ok(_) => Check::passed("read a key (migration mode: nothing written)"),
            Err(e) => Check::failed(format!("KV binding `KV` failed: {e}")),
        };
    }
    let nonce = match random::hex::<16>() {
        Ok(nonce) => nonce,
        Err(e) => return Check::failed(format!("no randomness for a probe: {e}")),
    };
    let key = format!("health:{nonce}");
    let round_trip = async {
        let kv = env.kv(env::KV)?;
        kv.put(&key, nonce.as_str())?
            .expiration_ttl(KV_PROBE_TTL_SECS)
            .execute()
            .await?;
        Ok::<_, worker::Error>(kv.get(&key).text().await?)
    };
    match round_trip.await {
        Ok(Some(value)) if value == nonce => Check::passed("wrote and read back a probe"),
        Ok(_) => Check::failed("KV binding `KV` did not return the probe it was given"),
        Err(e) => Check::failed(format!("KV binding `KV` failed: {e}")),
    }
}

/// The Queue is checked without a message: the producer binding must exist and be a Queue. A
/// probe message would travel the revocation path, where anyone able to send probes could queue
/// them ahead of revocations, and its consumer would have to write to acknowledge it.
fn check_queue(env: &Env) -> Check {
    let name = env::REVOCATIONS;
    match env.queue(name) {
        Ok(_) => Check::passed(format!(
            "producer binding `{name}` is bound to a Queue (no message sent)"
        )),
        Err(e) => Check::failed(format!(
            "Queue producer binding `{name}` is missing or not a Queue ({e}): bind the \
             `revocations` queue under [[queues.producers]] in wrangler.toml"
        )),
    }
}
