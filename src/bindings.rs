//! The Worker's storage bindings (D1, KV, the `revocations` Queue), each looked up on its first
//! use in a request. Most requests touch one of them or none: a `401`, a page, or a request
//! whose token verification is cached needs no storage, and looking all three up on every
//! request cost ~6% of a `401`'s CPU when profiled (each lookup is several JavaScript calls).

use std::cell::OnceCell;

use gatehouse_core::store::StoreError;
use worker::kv::KvStore;
use worker::{D1Database, Env, Queue};

use crate::env;

pub struct Bindings<'a> {
    env: &'a Env,
    db: OnceCell<D1Database>,
    kv: OnceCell<KvStore>,
    queue: OnceCell<Queue>,
}

impl<'a> Bindings<'a> {
    pub fn new(env: &'a Env) -> Self {
        Self {
            env,
            db: OnceCell::new(),
            kv: OnceCell::new(),
            queue: OnceCell::new(),
        }
    }

    /// The D1 database `DB`.
    pub fn db(&self) -> Result<&D1Database, StoreError> {
        lazily(
            &self.db,
            || self.env.d1(env::DB),
            env::DB,
            "[[d1_databases]]",
        )
    }

    /// The KV namespace `KV`.
    pub fn kv(&self) -> Result<&KvStore, StoreError> {
        lazily(
            &self.kv,
            || self.env.kv(env::KV),
            env::KV,
            "[[kv_namespaces]]",
        )
    }

    /// The producer of the `revocations` Queue.
    pub fn queue(&self) -> Result<&Queue, StoreError> {
        lazily(
            &self.queue,
            || self.env.queue(env::REVOCATIONS),
            env::REVOCATIONS,
            "[[queues.producers]]",
        )
    }
}

/// The binding in `cell`, looked up with `lookup` the first time. A missing binding is a
/// deployment without it: the error names it and the wrangler.toml table that declares it.
fn lazily<'c, T>(
    cell: &'c OnceCell<T>,
    lookup: impl FnOnce() -> worker::Result<T>,
    name: &str,
    table: &str,
) -> Result<&'c T, StoreError> {
    if let Some(binding) = cell.get() {
        return Ok(binding);
    }
    let binding = lookup().map_err(|error| {
        StoreError(format!(
            "binding `{name}`: {error}. Fix: declare it under {table} in wrangler.toml"
        ))
    })?;
    Ok(cell.get_or_init(|| binding))
}
