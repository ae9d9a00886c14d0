//! `GET /healthz`: a real round trip to D1, KV and the Queue (producer and consumer).

use std::time::Duration;

use gatehouse_core::health::{Check, Report};
use gatehouse_core::queue::QueueMessage;
use worker::{Delay, Env, Result};

use crate::{env, random};

/// How long the health check waits for the consumer to record its probe. Queue consumers are
/// invoked in batches; wrangler.toml sets `max_batch_timeout = 1`, so a healthy consumer answers
/// within about a second.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
const QUEUE_POLL: Duration = Duration::from_millis(100);
/// KV refuses expirations shorter than 60 seconds.
const KV_PROBE_TTL_SECS: u64 = 60;
/// Consumed probes older than this are deleted by the consumer.
const PROBE_RETENTION_SECS: u64 = 3600;

pub async fn check(env: &Env) -> Report {
    let nonce = match random::hex::<16>() {
        Ok(nonce) => nonce,
        Err(e) => {
            let failed = || Check::failed(format!("no randomness for a probe: {e}"));
            return Report::new(failed(), failed(), failed());
        }
    };
    Report::new(
        check_d1(env).await,
        check_kv(env, &nonce).await,
        check_queue(env, &nonce).await,
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

async fn check_kv(env: &Env, nonce: &str) -> Check {
    let key = format!("health:{nonce}");
    let round_trip = async {
        let kv = env.kv(env::KV)?;
        kv.put(&key, nonce)?
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

async fn check_queue(env: &Env, nonce: &str) -> Check {
    let probe = QueueMessage::HealthProbe {
        nonce: nonce.to_owned(),
    };
    let sent = async { env.queue(env::REVOCATIONS)?.send(&probe).await };
    if let Err(e) = sent.await {
        return Check::failed(format!(
            "Queue producer binding `{}` failed to send: {e}",
            env::REVOCATIONS
        ));
    }
    let mut waited = Duration::ZERO;
    while waited < QUEUE_WAIT {
        match probe_consumed(env, nonce).await {
            Ok(true) => return Check::passed("a probe message was sent and consumed"),
            Ok(false) => {}
            Err(e) => return Check::failed(format!("could not read probe receipts from D1: {e}")),
        }
        Delay::from(QUEUE_POLL).await;
        waited += QUEUE_POLL;
    }
    Check::failed(format!(
        "a probe message was sent but not consumed within {}s: is this Worker configured as the \
         consumer of the `revocations` queue in wrangler.toml?",
        QUEUE_WAIT.as_secs()
    ))
}

async fn probe_consumed(env: &Env, nonce: &str) -> Result<bool> {
    let row = env
        .d1(env::DB)?
        .prepare("SELECT 1 AS seen FROM health_probes WHERE nonce = ?1")
        .bind(&[nonce.into()])?
        .first::<u32>(Some("seen"))
        .await?;
    Ok(row.is_some())
}

/// The consumer's side of a probe: record its nonce so that the waiting health check sees it.
pub async fn record_probe(nonce: &str, env: &Env) -> Result<()> {
    let now = worker::Date::now().as_millis() / 1000;
    let db = env.d1(env::DB)?;
    db.batch(vec![
        db.prepare(
            "INSERT INTO health_probes (nonce, consumed_at) VALUES (?1, ?2) \
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(&[nonce.into(), (now as f64).into()])?,
        db.prepare("DELETE FROM health_probes WHERE consumed_at < ?1")
            .bind(&[(now.saturating_sub(PROBE_RETENTION_SECS) as f64).into()])?,
    ])
    .await?;
    Ok(())
}
