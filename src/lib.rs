//! The gatehouse Worker: maps HTTP requests, D1, KV and the `revocations` Queue onto
//! `gatehouse-core`. It translates; every protocol decision lives in the core crate.

mod admin;
mod bindings;
mod consumer;
mod demo;
mod device;
mod env;
mod gate;
mod header_list;
mod health;
mod http;
mod isolate_cache;
mod keys;
mod markdown;
mod oauth;
mod oidc;
mod pages;
mod platform;
mod prepared;
mod proxy;
mod random;
mod request;
mod router;
mod store;
mod upstream;
mod verifier;
mod webcrypto;

use gatehouse_core::model::queue::QueueMessage;
use worker::worker_sys::web_sys;
use worker::{
    Context, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, Result, ScheduleContext,
    ScheduledEvent, event,
};

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    router::route(request::Incoming::new(req), &env, &ctx).await
}

/// The consumer of the `revocations` Queue and of its dead-letter queue. A message it cannot
/// apply is retried (the Queue's `max_retries` in wrangler.toml) and then moved to the
/// dead-letter queue, whose consumer applies it or holds it in KV for the drain; it is never
/// dropped.
#[event(queue)]
async fn queue(batch: MessageBatch<QueueMessage>, env: Env, _ctx: Context) -> Result<()> {
    let dead_letter = batch.queue() == consumer::DEAD_LETTER_QUEUE;
    for message in batch.messages()? {
        let applied = if dead_letter {
            consumer::apply_dead_letter(message.body(), &env).await
        } else {
            consumer::apply(message.body(), &env).await
        };
        match applied {
            Ok(()) => message.ack(),
            Err(error) => {
                let age_ms = worker::Date::now()
                    .as_millis()
                    .saturating_sub(message.timestamp().as_millis());
                let delay = consumer::retry_delay_secs(age_ms / 1000);
                worker::console_error!("queue message not applied, retrying in {delay} s: {error}");
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(delay)
                        .build(),
                );
            }
        }
    }
    Ok(())
}

/// The cron trigger (wrangler.toml `[triggers]`): drains the writes held during migration mode
/// (or an outage) into D1 once it can take them, finishes revocations D1 knows unsettled, then
/// forgets lapsed rows.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(error) = consumer::drain(&env).await {
        worker::console_error!("{error}");
    }
    if let Err(error) = consumer::forget_lapsed(&env).await {
        worker::console_error!("{error}");
    }
}
