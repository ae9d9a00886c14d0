// The benchmark's storage shim (bench/README.md, "Storage round trips and production-like
// latency"). It exists only in the entry modules that bench/storage.mjs writes for the Workers it
// measures; neither gatehouse's build nor the reference's own Worker imports it.
//
// It wraps every D1 database, KV namespace and Queue producer in the Worker's `env` before the
// Worker sees it, per request, and
//
// - counts, per request, the calls into them: D1 queries and batches (a batch is one call), rows
//   read and written (from D1's `meta`), KV reads, writes, deletes and lists, Queue messages;
// - counts **sequential round trips**: a call that starts while no other storage call of the same
//   request is in flight begins a new round trip; calls that overlap (awaited together) share one;
// - tells the calls made before the Worker's response apart from those made after it (work the
//   Worker left to `ctx.waitUntil`);
// - with `BENCH_D1_DELAY_MS` / `BENCH_KV_DELAY_MS` / `BENCH_QUEUE_DELAY_MS` set (vars), waits that
//   long before every call, as a stand-in for production storage's network round trip;
// - forwards D1's Sessions API (`withSession`, read replication) and counts the sessions opened and
//   the queries sent through them, by the constraint given (`first-unconstrained`,
//   `first-primary`, or `bookmark` for any other value); with `BENCH_REPLICA_LAG=1` a
//   `first-unconstrained` session stands for a replica that has seen no write yet: its queries
//   run (and are counted) but answer no rows, so a reader that trusts a replica's miss fails.
//
// `GET /__bench/storage` answers the totals since the previous such request (and resets them):
// `{ requests, before: {…}, after: {…}, background: {…}, maxBefore, sessions, sessionQueries }`,
// where `sessions` and `sessionQueries` count D1 sessions and their queries by constraint, `maxBefore` is the
// most sequential round trips any one request made before its response and `background` holds
// the calls of the Worker's Queue consumer and cron handler (not charged to any request).

const zero = () => ({
  roundTrips: 0, d1Calls: 0, d1Statements: 0, rowsRead: 0, rowsWritten: 0,
  kvReads: 0, kvWrites: 0, kvDeletes: 0, kvLists: 0, queueMessages: 0,
});
const fresh = () => ({ requests: 0, before: zero(), after: zero(), background: zero(), maxBefore: 0, log: [], sessions: {}, sessionQueries: {} });
let totals = fresh();
const LOG_MAX = 400;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const delayOf = (env, name) => {
  const ms = Number(env?.[name] ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
};

/** One request's storage calls. */
class Tracker {
  constructor(env, background = false) {
    this.background = background;
    this.inflight = 0;
    this.answered = false;
    this.roundTripsBefore = 0;
    this.log = env?.BENCH_STORAGE_LOG === '1';
    this.request = (totals.seq = (totals.seq ?? 0) + 1);
    this.delays = { d1: delayOf(env, 'BENCH_D1_DELAY_MS'), kv: delayOf(env, 'BENCH_KV_DELAY_MS'), queue: delayOf(env, 'BENCH_QUEUE_DELAY_MS') };
    this.replicaLag = env?.BENCH_REPLICA_LAG === '1';
  }

  get phase() {
    if (this.background) return totals.background;
    return this.answered ? totals.after : totals.before;
  }

  /** Runs one storage call `fn(counts)` as a (possibly shared) round trip of `kind`. */
  async call(kind, fn, label = kind) {
    const counts = this.phase;
    if (this.log && totals.log.length < LOG_MAX) totals.log.push(`#${this.request} ${this.background ? 'background' : this.answered ? 'after' : 'before'}${this.inflight ? ' (overlapping)' : ''}: ${label}`);
    if (this.inflight === 0) {
      counts.roundTrips++;
      if (!this.answered && !this.background) this.roundTripsBefore++;
    }
    this.inflight++;
    try {
      if (this.delays[kind]) await sleep(this.delays[kind]);
      return await fn(counts);
    } finally {
      this.inflight--;
    }
  }

  answer() {
    this.answered = true;
    totals.requests++;
    totals.maxBefore = Math.max(totals.maxBefore, this.roundTripsBefore);
  }
}

const addMeta = (counts, result) => {
  counts.rowsRead += Number(result?.meta?.rows_read ?? 0);
  counts.rowsWritten += Number(result?.meta?.rows_written ?? 0);
};

/** A D1 prepared statement whose calls are counted; `real` keeps the runtime's statement. */
const REAL = new WeakMap();
const SQL = new WeakMap();
const short = (sql) => String(sql ?? '').replace(/\s+/g, ' ').trim().slice(0, 90);
/** The rows a lagging replica answers: none. */
const lagged = (result) => ({ ...result, results: [] });

function statement(tracker, stmt, sql, session = null) {
  const label = session ? `[${session}] ${sql}` : sql;
  const counted = () => {
    if (session) totals.sessionQueries[session] = (totals.sessionQueries[session] ?? 0) + 1;
  };
  const lags = session === 'first-unconstrained' && tracker.replicaLag;
  const wrapped = new Proxy(stmt, {
    get(target, prop) {
      switch (prop) {
        case 'bind':
          return (...args) => statement(tracker, target.bind(...args), sql, session);
        case 'all':
        case 'run':
          return () => tracker.call('d1', async (c) => {
            c.d1Calls++;
            c.d1Statements++;
            counted();
            const result = await target[prop]();
            addMeta(c, result);
            return lags ? lagged(result) : result;
          }, label);
        case 'raw':
          return (...args) => tracker.call('d1', async (c) => {
            c.d1Calls++;
            c.d1Statements++;
            counted();
            const rows = await target.raw(...args);
            return lags ? [] : rows;
          }, label);
        case 'first':
          // D1's first() returns no meta: the same query through all(), answered as first() does.
          return (column) => tracker.call('d1', async (c) => {
            c.d1Calls++;
            c.d1Statements++;
            counted();
            const result = await target.all();
            addMeta(c, result);
            const row = lags ? null : result.results?.[0] ?? null;
            if (column === undefined || column === null) return row;
            if (row === null) return null;
            if (!(column in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${column})`);
            return row[column];
          }, label);
        default: {
          const value = Reflect.get(target, prop);
          return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
        }
      }
    },
  });
  REAL.set(wrapped, stmt);
  SQL.set(wrapped, sql);
  return wrapped;
}

/** The name a session is counted under: its constraint, or `bookmark`. */
const sessionKind = (constraintOrBookmark) => {
  if (constraintOrBookmark === undefined || constraintOrBookmark === null) return 'first-unconstrained';
  if (constraintOrBookmark === 'first-unconstrained' || constraintOrBookmark === 'first-primary') return constraintOrBookmark;
  return 'bookmark';
};

/** A D1 session (`withSession`) whose queries are counted under `kind`. */
function session(tracker, real, kind) {
  return new Proxy(real, {
    get(target, prop) {
      switch (prop) {
        case 'prepare':
          return (sql) => statement(tracker, target.prepare(sql), short(sql), kind);
        case 'batch':
          return (statements) => tracker.call('d1', async (c) => {
            c.d1Calls++;
            c.d1Statements += statements.length;
            totals.sessionQueries[kind] = (totals.sessionQueries[kind] ?? 0) + 1;
            const results = await target.batch(statements.map((s) => REAL.get(s) ?? s));
            for (const result of results) addMeta(c, result);
            return results;
          }, `[${kind}] batch[${statements.map((s) => SQL.get(s) ?? '?').join(' ; ')}]`);
        default: {
          const value = Reflect.get(target, prop);
          return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
        }
      }
    },
  });
}

function d1(tracker, db) {
  return new Proxy(db, {
    get(target, prop) {
      switch (prop) {
        case 'prepare':
          return (sql) => statement(tracker, target.prepare(sql), short(sql));
        case 'withSession':
          return (constraintOrBookmark) => {
            const kind = sessionKind(constraintOrBookmark);
            totals.sessions[kind] = (totals.sessions[kind] ?? 0) + 1;
            return session(tracker, target.withSession(constraintOrBookmark), kind);
          };
        case 'batch':
          return (statements) => tracker.call('d1', async (c) => {
            c.d1Calls++;
            c.d1Statements += statements.length;
            const results = await target.batch(statements.map((s) => REAL.get(s) ?? s));
            for (const result of results) addMeta(c, result);
            return results;
          }, `batch[${statements.map((s) => SQL.get(s) ?? '?').join(' ; ')}]`);
        case 'exec':
          return (sql) => tracker.call('d1', (c) => {
            c.d1Calls++;
            c.d1Statements++;
            return target.exec(sql);
          });
        default: {
          const value = Reflect.get(target, prop);
          return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
        }
      }
    },
  });
}

const KV_KINDS = { get: 'kvReads', getWithMetadata: 'kvReads', put: 'kvWrites', delete: 'kvDeletes', list: 'kvLists' };
function kv(tracker, namespace) {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      const kind = KV_KINDS[prop];
      if (!kind) return value.bind(target);
      return (...args) => tracker.call('kv', (c) => {
        c[kind] += prop === 'get' && Array.isArray(args[0]) ? args[0].length : 1;
        return value.apply(target, args);
      }, `KV ${prop} ${typeof args[0] === 'string' ? args[0].slice(0, 40) : ''}`);
    },
  });
}

function queue(tracker, producer) {
  return new Proxy(producer, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop !== 'send' && prop !== 'sendBatch') return value.bind(target);
      return (...args) => tracker.call('queue', (c) => {
        c.queueMessages += prop === 'sendBatch' ? args[0].length : 1;
        return value.apply(target, args);
      }, `Queue ${prop}`);
    },
  });
}

/** `env` with its storage bindings wrapped for `tracker`; everything else as it is. */
function wrapEnv(env, tracker) {
  const wrapped = {};
  for (const [name, value] of Object.entries(env)) {
    const kind = value?.constructor?.name;
    if (kind === 'D1Database') wrapped[name] = d1(tracker, value);
    else if (kind === 'KvNamespace') wrapped[name] = kv(tracker, value);
    else if (kind === 'WorkerQueue') wrapped[name] = queue(tracker, value);
    else wrapped[name] = value;
  }
  return wrapped;
}

const report = () => {
  const body = JSON.stringify(totals);
  totals = fresh();
  return new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
};

/**
 * A module Worker that runs `handle(request, env, ctx)` (the Worker being measured) with its
 * storage wrapped, and `other(name, event, env, ctx)` for its other handlers.
 */
export function shim(handle, other) {
  const worker = {
    async fetch(request, env, ctx) {
      if (new URL(request.url).pathname === '/__bench/storage') return report();
      const tracker = new Tracker(env);
      try {
        return await handle(request, wrapEnv(env, tracker), ctx);
      } finally {
        tracker.answer();
      }
    },
  };
  for (const name of ['queue', 'scheduled']) {
    if (other?.has(name)) worker[name] = (event, env, ctx) => other.run(name, event, wrapEnv(env, new Tracker(env, true)), ctx);
  }
  return worker;
}

/** The shim around a module Worker (`export default { fetch, … }`). */
export const shimModule = (inner) => shim(
  (request, env, ctx) => inner.fetch(request, env, ctx),
  { has: (name) => typeof inner[name] === 'function', run: (name, event, env, ctx) => inner[name](event, env, ctx) },
);

/** The shim around a `WorkerEntrypoint` class (worker-build's export): one instance per event. */
export const shimEntrypoint = (Entrypoint) => shim(
  (request, env, ctx) => new Entrypoint(ctx, env).fetch(request),
  { has: (name) => typeof Entrypoint.prototype[name] === 'function', run: (name, event, env, ctx) => new Entrypoint(ctx, env)[name](event) },
);
