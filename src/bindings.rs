//! The Worker's storage bindings (D1, KV, the `revocations` Queue), each looked up on its first
//! use in a request. Most requests touch one of them or none: a `401`, a page, or a request
//! whose token verification is cached needs no storage, and looking all three up on every
//! request cost ~6% of a `401`'s CPU when profiled (each lookup is several JavaScript calls).

use std::cell::OnceCell;

use gatehouse_core::store::{ReadFrom, StoreError};
use worker::kv::KvStore;
use worker::{D1Database, D1DatabaseSession, D1SessionConstraint, Env, Queue};

use crate::env;

pub struct Bindings<'a> {
    env: &'a Env,
    db: OnceCell<D1Database>,
    /// The request's D1 session for reads a replica may answer, and the one for their
    /// fallback to the primary ([`Bindings::read_session`]).
    replica: OnceCell<D1DatabaseSession>,
    primary: OnceCell<D1DatabaseSession>,
    kv: OnceCell<KvStore>,
    queue: OnceCell<Queue>,
}

impl<'a> Bindings<'a> {
    pub fn new(env: &'a Env) -> Self {
        Self {
            env,
            db: OnceCell::new(),
            replica: OnceCell::new(),
            primary: OnceCell::new(),
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

    /// A D1 session (the Sessions API of D1 read replication) for reads `from` a replica or the
    /// primary, one of each per request, opened on first use: opening one is a JavaScript call,
    /// not a round trip. A `first-unconstrained` session may send its first query to any
    /// replica and keeps the request's later queries at least as current as that one
    /// (sequential consistency within a session); a `first-primary` session starts at the
    /// primary. Which reads use which is `gatehouse_core::store::Freshness`'s rule
    /// (docs/storage.md, "Read replicas"). With read replication off, both go to the primary.
    pub fn read_session(&self, from: ReadFrom) -> Result<&D1DatabaseSession, StoreError> {
        let (cell, constraint) = match from {
            ReadFrom::Replica => (&self.replica, D1SessionConstraint::FirstUnconstrained),
            ReadFrom::Primary => (&self.primary, D1SessionConstraint::FirstPrimary),
        };
        if let Some(session) = cell.get() {
            return Ok(session);
        }
        let session = self
            .db()?
            .with_session_constraint(constraint)
            .map_err(|error| StoreError(format!("D1 binding `{}`: session: {error}", env::DB)))?;
        Ok(cell.get_or_init(|| session))
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
