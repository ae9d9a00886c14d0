//! `GET /healthz`: the liveness answer, and for the admin a round trip to D1 and KV and a look at
//! the Queue binding and its backlog (who gets which, what the deep check may do and what the
//! backlog means are decided in `gatehouse_core::health`).

use gatehouse_core::answer::{self, PageReply};
use gatehouse_core::config::{Config, ConfigError};
use gatehouse_core::health::{Backlog, Check, Depth, Liveness, Plan, QueueCheck, Report};
use gatehouse_core::http::reply::Reply;
use gatehouse_core::jose::signer::Signer;
use gatehouse_core::store::Store;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::http::{AuthServer, Presented};
use crate::request::Incoming;
use crate::{env, random};

/// KV refuses expirations shorter than 60 seconds.
const KV_PROBE_TTL_SECS: u64 = 60;
/// The key the deep check reads in migration mode, where it writes nothing. Never written: the
/// read proves the binding answers.
const KV_READ_ONLY_KEY: &str = "health:read-only";

/// The liveness answer: whether the configuration parses. No storage is touched.
pub fn liveness(config: Result<&Config, &ConfigError>) -> PageReply {
    let answer = match config {
        Ok(_) => Liveness::valid(),
        Err(error) => Liveness::invalid(crate::env::log_config_error(error)),
    };
    Reply::json(answer.status(), &answer)
}

/// The answer for a request on an app's host: the deep check for the admin, the liveness answer
/// for everyone else.
pub async fn respond<S: Store, K: Signer>(
    server: &AuthServer<'_, S, K>,
    env: &Env,
    req: &Incoming,
) -> PageReply {
    let presented = Presented::of(server, req);
    match server.health_depth(&presented.credentials()).await {
        Ok(Depth::Liveness) => liveness(Ok(server.config)),
        Ok(Depth::Deep) => {
            let report = deep(env, Plan::for_config(server.config)).await;
            Reply::json(report.status(), &report)
        }
        Err(failure) => answer::admin(&server.decision, Err::<(), _>(failure)),
    }
}

/// The deep check of D1, KV and the Queue under `plan` (also shown on the admin console's state
/// page).
pub(crate) async fn deep(env: &Env, plan: Plan) -> Report {
    Report::new(
        plan,
        check_d1(env).await,
        check_kv(env, plan).await,
        check_queue(env).await,
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

/// The Queue is checked without a message: the producer binding must exist and be a Queue, and
/// where the runtime reports the Queue's backlog (`metrics()`), a backlog whose oldest message
/// has waited too long means the consumer is not consuming. A probe message would travel the
/// revocation path, where anyone able to send probes could queue them ahead of revocations, and
/// its consumer would have to write to acknowledge it.
async fn check_queue(env: &Env) -> Check {
    let name = env::REVOCATIONS;
    let queue = match env.queue(name) {
        Ok(queue) => JsValue::from(queue),
        Err(e) => return QueueCheck::Unbound(e.to_string()).check(name),
    };
    match backlog(&queue).await {
        Ok(backlog) => QueueCheck::Bound(backlog).check(name),
        Err(e) => QueueCheck::MetricsFailed(e).check(name),
    }
}

/// The Queue's backlog as `metrics()` reports it (`None` where the runtime has no `metrics()`).
async fn backlog(queue: &JsValue) -> std::result::Result<Option<Backlog>, String> {
    let field =
        |object: &JsValue, name: &str| js_sys::Reflect::get(object, &JsValue::from_str(name));
    let metrics = field(queue, "metrics").map_err(|e| format!("{e:?}"))?;
    let Some(metrics) = metrics.dyn_ref::<js_sys::Function>() else {
        return Ok(None);
    };
    let promise = metrics.call0(queue).map_err(|e| format!("{e:?}"))?;
    let answer = JsFuture::from(js_sys::Promise::resolve(&promise))
        .await
        .map_err(|e| format!("{e:?}"))?;
    let count = field(&answer, "backlogCount")
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let oldest = field(&answer, "oldestMessageTimestamp").ok().and_then(|v| {
        v.dyn_ref::<js_sys::Date>()
            .map(js_sys::Date::get_time)
            .or_else(|| v.as_f64())
    });
    Ok(Some(Backlog {
        messages: count as u64,
        oldest_age_secs: oldest
            .filter(|at| *at > 0.0)
            .map(|at| ((js_sys::Date::now() - at).max(0.0) / 1000.0) as u64),
    }))
}
