// The capacity model (docs/capacity.md): what gatehouse costs per month and which platform limit
// it meets first at 10k, 100k and 1M active agents, each making one authenticated request a
// second and refreshing its token every 10 minutes. It reads the benchmark's own figures
// (bench/results/bench.json from bench.mjs: CPU per request; bench/results/storage.json from
// storage.mjs: D1 calls and rows, KV reads and writes, Queue messages per operation) and
// Cloudflare's published prices and limits (PRICES and LIMITS below, with the page each was read
// from and the date), and writes docs/capacity.md. `bench/run` runs it last; run it alone with
// `node bench/capacity.mjs` after a run. Nothing in docs/capacity.md's figures is typed by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tests/e2e/support/gatehouse.mjs';

const READ_ON = '2026-12-05';
/** Workers Paid plan, Standard usage model. */
const PRICES = {
  base: { usd: 5, source: 'https://developers.cloudflare.com/workers/platform/pricing/ (the $5 Workers Paid plan, as quoted by the KV and D1 pricing transcriptions below)' },
  requests: { included: 10e6, usdPerMillion: 0.3, source: 'https://developers.cloudflare.com/workflows/reference/pricing/ (official; its table is stated to be identical to Workers Standard pricing: 10 million requests included, then $0.30 per million)' },
  cpuMs: { included: 30e6, usdPerMillion: 0.02, source: 'https://developers.cloudflare.com/workflows/reference/pricing/ (same table: 30 million CPU ms included, then $0.02 per million)' },
  d1RowsRead: { included: 25e9, usdPerMillion: 0.001, source: 'https://developers.cloudflare.com/d1/platform/pricing/ (seen through a third-party transcription of that page, api-evangelist/cloudflare-d1, and a project wiki that read it on 2026-08-03; both agree)' },
  d1RowsWritten: { included: 50e6, usdPerMillion: 1.0, source: 'https://developers.cloudflare.com/d1/platform/pricing/ (as above)' },
  kvReads: { included: 10e6, usdPerMillion: 0.5, source: 'https://developers.cloudflare.com/kv/platform/pricing/ (seen through a third-party transcription, api-evangelist/cloudflare-kv; the included amounts also in cloudflare/cloudflare-docs issue 30857)' },
  kvWrites: { included: 1e6, usdPerMillion: 5.0, source: 'https://developers.cloudflare.com/kv/platform/pricing/ (as above; writes and deletes alike)' },
  queueOps: { included: 1e6, usdPerMillion: 0.4, opsPerMessage: 3, source: 'https://developers.cloudflare.com/queues/platform/pricing/ (seen through a third-party transcription, api-evangelist/cloudflare-queues; a message is written, read and deleted: 3 operations per 64 KB)' },
};
const LIMITS = {
  d1QueriesPerSecond: { value: 1000, source: 'https://developers.cloudflare.com/d1/platform/limits/ ("How much work can a D1 database do?": one database is single-threaded; ~1,000 queries/s at 1 ms per query)' },
  d1DatabaseGb: { value: 10, source: 'https://developers.cloudflare.com/d1/platform/limits/' },
  kvWritesPerKeyPerSecond: { value: 1, source: 'https://developers.cloudflare.com/kv/platform/limits/' },
  queueMessagesPerSecond: { value: 5000, source: 'https://developers.cloudflare.com/queues/platform/limits/ (per queue; seen through the api-evangelist transcription)' },
  cpuMsPerRequestFree: { value: 10, source: 'https://developers.cloudflare.com/workers/platform/limits/' },
  cpuMsPerRequestPaid: { value: 300000, source: 'https://developers.cloudflare.com/workers/platform/limits/ (Workers Paid: 5 min)' },
  subrequestsPerRequest: { value: 1000, source: 'https://developers.cloudflare.com/d1/platform/limits/ and https://developers.cloudflare.com/kv/platform/limits/ (1,000 D1 queries and 1,000 KV operations per invocation on Paid; the newest copy of the Workers limits page allows 10,000 subrequests)' },
};

const SECONDS_PER_MONTH = 30 * 24 * 3600;
const DAY = 24 * 3600;
// The retention sweep's cut-offs (crates/core/src/retention.rs): a rotated refresh token is kept
// this long to recognise its reuse; audit events as long as the operator's AUDIT_RETENTION_DAYS.
const REUSE_DETECTION_DAYS = 1;
const AUDIT_RETENTION_DAYS = 30;
// Audit events per refresh: grants::refresh_token records one `token_refreshed` per issuance.
const AUDIT_EVENTS_PER_REFRESH = 1;
// Tables measured with fewer rows than this are page-granular: their bytes per row are not used.
const MIN_ROWS_FOR_BYTES = 50;
const REQUESTS_PER_AGENT_PER_SECOND = 1;
const REFRESH_EVERY_S = 600;
const AGENTS = [10_000, 100_000, 1_000_000];

const load = (name) => JSON.parse(readFileSync(join(ROOT, 'bench', 'results', name), 'utf8'));

function perOperation(bench, storage) {
  // The figure with wrangler's DevTools session attached: the upper bound (bench.mjs also
  // measures some scenarios without it, which production is closer to).
  const cpu = (key) => bench.results.find((r) => r.key === key && r.server === 'gatehouse' && r.devtools !== 'detached' && !r.na)?.workerMs;
  const s = storage.scenarios.gatehouse;
  const ops = {};
  for (const [op, cpuKey] of [['auth', 'auth'], ['authFirst', 'auth'], ['refresh', 'refresh'], ['code', 'code'], ['dcr', 'dcr'], ['revoke', undefined]]) {
    const x = s[op];
    if (!x) continue;
    const sum = (k) => x.before[k] + x.after[k] + (x.background?.[k] ?? 0); // background: the Queue consumer, cron
    ops[op] = {
      cpuMs: cpuKey ? cpu(cpuKey) : undefined,
      d1Calls: sum('d1Calls'), d1Statements: sum('d1Statements'), rowsRead: sum('rowsRead'), rowsWritten: sum('rowsWritten'),
      kvReads: sum('kvReads'), kvWrites: sum('kvWrites') + sum('kvDeletes'), queueMessages: sum('queueMessages'),
      roundTrips: x.before.roundTrips, maxRoundTrips: x.maxBefore,
    };
  }
  return ops;
}

const cost = (price, amount) => Math.max(0, amount - price.included) / 1e6 * price.usdPerMillion;

function model(agents, ops, storage) {
  const apiPerS = agents * REQUESTS_PER_AGENT_PER_SECOND;
  const refreshPerS = agents / REFRESH_EVERY_S;
  // Each refresh issues a new access token, which every isolate it reaches meets once: counted
  // once per refresh (one isolate per agent; more isolates add that cost again).
  const freshPerS = refreshPerS;
  const cachedPerS = apiPerS - freshPerS;
  const rate = (k) => cachedPerS * (ops.auth[k] ?? 0) + freshPerS * (ops.authFirst?.[k] ?? ops.auth[k] ?? 0) + refreshPerS * (ops.refresh[k] ?? 0);
  const month = (perS) => perS * SECONDS_PER_MONTH;
  const usage = {
    requests: month(apiPerS + refreshPerS),
    cpuMs: month(rate('cpuMs')),
    d1RowsRead: month(rate('rowsRead')),
    d1RowsWritten: month(rate('rowsWritten')),
    kvReads: month(rate('kvReads')),
    kvWrites: month(rate('kvWrites')),
    queueOps: month(rate('queueMessages')) * PRICES.queueOps.opsPerMessage,
  };
  const usd = { base: PRICES.base.usd };
  for (const k of Object.keys(usage)) usd[k] = cost(PRICES[k], usage[k]);
  const total = Object.values(usd).reduce((a, b) => a + b, 0);
  const d1QueriesPerS = rate('d1Statements');
  const limits = [
    { name: 'D1 queries/s on one database (1 ms each)', use: d1QueriesPerS, limit: LIMITS.d1QueriesPerSecond.value },
    { name: 'Queue messages/s', use: rate('queueMessages'), limit: LIMITS.queueMessagesPerSecond.value },
    { name: 'CPU ms per request (Free plan limit)', use: Math.max(...Object.values(ops).map((o) => o.cpuMs ?? 0)), limit: LIMITS.cpuMsPerRequestFree.value, perRequest: true },
    { name: 'storage calls per request', use: Math.max(...Object.values(ops).map((o) => o.d1Calls + o.kvReads + o.kvWrites + o.queueMessages)), limit: LIMITS.subrequestsPerRequest.value, perRequest: true },
  ];
  if (storage) {
    limits.push({ name: `D1 storage of one database, GB, audit kept ${AUDIT_RETENTION_DAYS} days`, use: storage.steadyBytes(agents, AUDIT_RETENTION_DAYS) / 1e9, limit: LIMITS.d1DatabaseGb.value });
  }
  const shares = limits.map((l) => ({ ...l, share: l.use / l.limit }));
  const first = shares.filter((l) => !l.perRequest).sort((a, b) => b.share - a.share)[0];
  return { agents, apiPerS, refreshPerS, usage, usd, total, limits: shares, first, d1QueriesPerS };
}

/**
 * What one agent keeps in D1 once the retention sweep has reached its steady state, from the
 * bytes per row (with indexes) that bench/storage.mjs measured in the local database: the live
 * refresh token and the rotated ones of the last REUSE_DETECTION_DAYS, the audit events of the
 * retention, and the agent's grant, client and consent. `null` when the run has no measurement.
 */
function storageModel(d1Bytes) {
  if (!d1Bytes) return null;
  const per = (table) => {
    const t = d1Bytes[table];
    return t && t.rows >= MIN_ROWS_FOR_BYTES ? t.bytesPerRow : null;
  };
  const refreshesPerDay = DAY / REFRESH_EVERY_S;
  const token = per('refresh_tokens');
  const audit = per('audit_events');
  if (token === null || audit === null) return null;
  const fixed = ['grants', 'clients', 'consents'].map(per).filter((b) => b !== null);
  const fixedBytes = fixed.reduce((a, b) => a + b, 0);
  const tokenRows = 1 + refreshesPerDay * REUSE_DETECTION_DAYS;
  const auditRowsPerDay = refreshesPerDay * AUDIT_EVENTS_PER_REFRESH;
  return {
    token, audit, fixedBytes, fixedTables: ['grants', 'clients', 'consents'].filter((t) => per(t) !== null),
    measured: Object.fromEntries(Object.entries(d1Bytes).filter(([, t]) => t.rows >= MIN_ROWS_FOR_BYTES).map(([k, t]) => [k, t])),
    tokenRows, auditRowsPerDay,
    /** Bytes of `agents` agents with audit events kept `days` days. */
    steadyBytes: (agents, days) => agents * (tokenRows * token + auditRowsPerDay * days * audit + fixedBytes),
    /** Bytes a day `agents` agents add while audit events are kept forever. */
    growthPerDay: (agents) => agents * auditRowsPerDay * audit,
  };
}

const n = (x, d = 0) => Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const usdf = (x) => `$${n(x, x < 100 ? 2 : 0)}`;
const big = (x) => (x >= 1e12 ? `${n(x / 1e12, 2)} T` : x >= 1e9 ? `${n(x / 1e9, 2)} B` : x >= 1e6 ? `${n(x / 1e6, 2)} M` : n(x, 0));

function render(bench, storage, ops, models, bytes) {
  const L = [];
  L.push('# Capacity: what gatehouse costs, and where it stops, at internet scale');
  L.push('');
  L.push('<!-- Generated by bench/capacity.mjs from bench/results/*.json; do not edit by hand: run `node bench/capacity.mjs`. -->');
  L.push('');
  L.push(`Generated from the benchmark run of ${bench.date.slice(0, 16)}Z (CPU, \`bench/bench.mjs\`) and ${storage.date.slice(0, 16)}Z (storage calls, \`bench/storage.mjs\`), and Cloudflare's published prices and limits as read on ${READ_ON} (sources below).`);
  L.push('');
  L.push('## The workload');
  L.push('');
  L.push(`N active agents, each making ${REQUESTS_PER_AGENT_PER_SECOND} authenticated request a second through the gatekeeper and refreshing its token every ${REFRESH_EVERY_S / 60} minutes; a month is 30 days. Each refresh issues a new access token, which the isolates it reaches have not verified yet: the model charges one "token new to the isolate" request per refresh and the rest at the cached-token cost. Registrations, code exchanges and revocations are rare next to these (once per agent, not per second) and are left out of the monthly sums; their per-operation figures are below.`);
  L.push('');
  L.push('## Per operation (measured)');
  L.push('');
  L.push('CPU is the Worker\'s own workerd under `wrangler dev` (an upper bound: it includes local SQLite and DevTools events that production does not have). Storage counts are per request, from the storage shim; a D1 batch is one call of several statements; rows are D1\'s own `rows_read`/`rows_written` (index updates count as rows written).');
  L.push('');
  L.push('| operation | CPU ms | sequential storage round trips (max) | D1 calls | D1 statements | D1 rows read | D1 rows written | KV reads | KV writes | Queue messages |');
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const names = { auth: 'authenticated request, cached token', authFirst: 'authenticated request, token new to the isolate', refresh: 'refresh', code: 'code exchange', dcr: 'registration (DCR)', revoke: 'revocation' };
  for (const [k, o] of Object.entries(ops)) {
    L.push(`| ${names[k]} | ${o.cpuMs === undefined ? '—' : n(o.cpuMs, 2)} | ${n(o.roundTrips, 2)} (${o.maxRoundTrips}) | ${n(o.d1Calls, 2)} | ${n(o.d1Statements, 2)} | ${n(o.rowsRead, 1)} | ${n(o.rowsWritten, 1)} | ${n(o.kvReads, 2)} | ${n(o.kvWrites, 2)} | ${n(o.queueMessages, 2)} |`);
  }
  L.push('');
  L.push('## Per month');
  L.push('');
  L.push(`| | ${models.map((m) => `${n(m.agents)} agents`).join(' | ')} |`);
  L.push(`| --- | ${models.map(() => '---:').join(' | ')} |`);
  L.push(`| requests/s (API + refresh) | ${models.map((m) => n(m.apiPerS + m.refreshPerS)).join(' | ')} |`);
  const rows = [['requests', 'requests'], ['CPU ms', 'cpuMs'], ['D1 rows read', 'd1RowsRead'], ['D1 rows written', 'd1RowsWritten'], ['KV reads', 'kvReads'], ['KV writes', 'kvWrites'], ['Queue operations', 'queueOps']];
  for (const [label, k] of rows) L.push(`| ${label} | ${models.map((m) => `${big(m.usage[k])} → ${usdf(m.usd[k])}`).join(' | ')} |`);
  L.push(`| Workers Paid base | ${models.map(() => usdf(PRICES.base.usd)).join(' | ')} |`);
  L.push(`| **total per month** | ${models.map((m) => `**${usdf(m.total)}**`).join(' | ')} |`);
  L.push(`| of which requests | ${models.map((m) => `${n((m.usd.requests / m.total) * 100, 0)} %`).join(' | ')} |`);
  L.push('');
  L.push('## Limits: which is met first');
  L.push('');
  L.push(`| limit | ${models.map((m) => `${n(m.agents)} agents`).join(' | ')} |`);
  L.push(`| --- | ${models.map(() => '---:').join(' | ')} |`);
  for (let i = 0; i < models[0].limits.length; i++) {
    const l = models[0].limits[i];
    L.push(`| ${l.name} (limit ${n(l.limit)}) | ${models.map((m) => `${n(m.limits[i].use, m.limits[i].use < 10 ? 2 : 0)} (${n(m.limits[i].share * 100, 0)} %)`).join(' | ')} |`);
  }
  L.push(`| **first limit** | ${models.map((m) => `${m.first.name}: ${n(m.first.share * 100, 0)} %`).join(' | ')} |`);
  L.push('');
  const d1 = models.map((m) => m.d1QueriesPerS / m.agents);
  const breakAt = LIMITS.d1QueriesPerSecond.value / d1[0];
  L.push(`The per-second limits that scale with agents are D1's: one database answers one query at a time, so the refresh path's ${n(ops.refresh.d1Statements, 2)} statements per refresh (in ${n(ops.refresh.d1Calls, 2)} calls; the agents' cached-token requests make none, and a token new to an isolate costs ${n(ops.authFirst?.kvReads ?? 0, 2)} KV reads and ${n(ops.authFirst?.d1Statements ?? 0, 2)} D1 statements) put one database at its ~${n(LIMITS.d1QueriesPerSecond.value)} queries/s near **${big(breakAt)} active agents** at 1 ms per statement (and at a tenth of that if statements take 10 ms). Requests are the largest cost line at every size: the cached-token path makes no storage call, so an agent's second-by-second traffic costs requests and CPU only. KV writes (the denylist) and Queue messages come from revocation only, and KV's one write per second per key is never approached: each revocation writes its own keys.`);
  L.push('');
  if (bytes) {
    L.push('## Storage: what the database holds');
    L.push('');
    L.push(`Every refresh rotates a refresh-token row and writes an audit event. The cron's retention sweep (\`crates/core/src/retention.rs\`, docs/storage.md "Retention") forgets a rotated token ${REUSE_DETECTION_DAYS} day after its rotation, and audit events after \`AUDIT_RETENTION_DAYS\` if the operator sets it (by default they are kept). Bytes per row, with the row's share of its table's indexes, measured in the local database after the storage run (SQLite's \`dbstat\`, pages as stored; tables with fewer than ${MIN_ROWS_FOR_BYTES} rows are not used):`);
    L.push('');
    L.push('| table | rows measured | bytes per row, indexes included |');
    L.push('| --- | ---: | ---: |');
    for (const [name, t] of Object.entries(bytes.measured)) L.push(`| \`${name}\` | ${n(t.rows)} | ${n(t.bytesPerRow)} |`);
    L.push('');
    L.push(`So one agent keeps ${n(bytes.tokenRows)} refresh-token rows (the live one and a day of rotated ones: ${n(bytes.tokenRows * bytes.token / 1024)} KiB) and ${n(bytes.auditRowsPerDay)} audit events a day (${n(bytes.auditRowsPerDay * bytes.audit / 1024)} KiB a day), plus its ${bytes.fixedTables.map((t) => `\`${t}\``).join(', ')} rows (${n(bytes.fixedBytes / 1024, 1)} KiB).`);
    L.push('');
    L.push(`| | ${models.map((m) => `${n(m.agents)} agents`).join(' | ')} |`);
    L.push(`| --- | ${models.map(() => '---:').join(' | ')} |`);
    L.push(`| refresh tokens kept (GB) | ${models.map((m) => n((m.agents * bytes.tokenRows * bytes.token) / 1e9, 2)).join(' | ')} |`);
    L.push(`| audit events a day (GB) | ${models.map((m) => n(bytes.growthPerDay(m.agents) / 1e9, 2)).join(' | ')} |`);
    L.push(`| steady state with \`AUDIT_RETENTION_DAYS=${AUDIT_RETENTION_DAYS}\` (GB; limit ${LIMITS.d1DatabaseGb.value}) | ${models.map((m) => n(bytes.steadyBytes(m.agents, AUDIT_RETENTION_DAYS) / 1e9, 1)).join(' | ')} |`);
    L.push(`| audit kept forever: days until one database is full | ${models.map((m) => n(Math.max(0, LIMITS.d1DatabaseGb.value * 1e9 - bytes.steadyBytes(m.agents, 0)) / bytes.growthPerDay(m.agents), 0)).join(' | ')} |`);
    L.push('');
    L.push(`Without retention every rotated token would stay for its lifetime (${n(DAY / REFRESH_EVERY_S * 30)} rows per agent over a 30-day token) and the audit trail would grow without end; with it, the audit trail is what fills a database, and how long it is kept in D1 is the operator's choice against the number of agents. Past what one database holds, the audit trail is the first thing to move (below).`);
    L.push('');
  }
  L.push('Not modelled: isolates beyond one per token (each extra isolate that meets a new token pays the token-new-to-the-isolate cost once more).');
  L.push('');
  L.push('## Past one database');
  L.push('');
  L.push('What is built, and what is designed but not built.');
  L.push('');
  L.push(`1. **Built: one storage round trip per token request.** In this run a refresh made ${n(ops.refresh.roundTrips, 2)} sequential round trips before its answer (at most ${ops.refresh.maxRoundTrips}) and a code exchange ${n(ops.code.roundTrips, 2)} (at most ${ops.code.maxRoundTrips}; an isolate's first also reads the signing keys). Each is one D1 batch whose statements are conditioned on each other, with the KV reads alongside: refresh tokens and codes name their grant, so nothing has to be read first. D1 runs a batch's statements one after another in one transaction, so the queries/s ceiling above counts statements (${n(ops.refresh.d1Statements, 2)} per refresh), not calls; fewer round trips take latency off the agent's wait, not load off the database.`);
  L.push('2. **Built: retention** (above, "Storage"): what the sweep forgets is what keeps one database from filling with rotated tokens.');
  L.push('3. **Built: D1 read replicas (Sessions API)** for the reads a lagging replica cannot harm (docs/storage.md, "Read replicas"): a miss on a replica is read again on the primary, and reads whose staleness could undo a security action stay on the primary. Replicas take reads off the primary and latency off agents far from it; they do not move the write ceiling.');
  L.push('4. **Designed: the audit trail past one database.** At one audit event per refresh the audit table is what fills a database first (above). In order of cost: (a) keep D1\'s copy short: every audit event is also in the request\'s log line (`action`, README "Logs"), so Workers Logs or Logpush to R2 can keep the long record while `AUDIT_RETENTION_DAYS=7` keeps a week for the console; (b) roll refreshes up: one `token_refreshed` event per grant and day with a count and the last `jti`, an upsert on its idempotency key (`refreshed:<grant>:<day>`) in the same refresh batch, so one row a day per agent instead of 144, at the price of the per-token `jti` record (the access token itself names its grant, person and client, which is what attribution reads); (c) an audit database of its own (an `AUDIT_DB` binding), so that the grants\' database holds only live state.');
  L.push('5. **Designed: sharding grants by a stable key.** Grants, their refresh tokens, codes and audit rows move to K databases (`DB_0 … DB_{K-1}` bindings), chosen by a hash of the grant id. Refresh tokens and codes already name their grant under their tag, so the shard is known before any read, and the HMAC-derived successor names the same grant. Clients, people, signing keys and the admin views stay in the first database; listing a person\'s grants fans out to K shards (rare, interactive). Resharding: new grants go by the new K; old ones stay where they are until they lapse (a grant\'s shard can be recorded in a small directory table read only on a miss). K = ⌈agents ÷ the smaller of the two ceilings above⌉, with D1\'s per-account database limit far away.');
  L.push('6. **Designed: Durable Objects for per-grant serialization.** A Durable Object per grant (`idFromName(grant_id)`) makes the refresh rotation single-threaded per grant without a D1 compare-and-swap, and keeps the grant\'s state in the object\'s own SQLite storage: D1 is then written only for the audit trail (batched through the Queue). It trades D1 write throughput for a Durable Object request per refresh (priced separately) and moves the refresh\'s storage round trip to wherever the object lives.');
  L.push('');
  L.push('## Sources (read on ' + READ_ON + ' through stored copies of these pages; where a figure was seen only through a transcription, the line says so)');
  L.push('');
  for (const [k, p] of Object.entries(PRICES)) L.push(`- ${k}: ${p.included !== undefined ? `${big(p.included)} included per month, then $${p.usdPerMillion} per million` : `$${p.usd} per month`} — ${p.source}`);
  for (const [k, l] of Object.entries(LIMITS)) L.push(`- ${k}: ${n(l.value)} — ${l.source}`);
  L.push('');
  L.push('Prices change; the script holds them in one place (`PRICES`, `LIMITS` in bench/capacity.mjs), with the date they were read.');
  return `${L.join('\n')}\n`;
}

const bench = load('bench.json');
const storage = load('storage.json');
const ops = perOperation(bench, storage);
const bytes = storageModel(storage.d1Bytes);
const models = AGENTS.map((a) => model(a, ops, bytes));
const doc = render(bench, storage, ops, models, bytes);
writeFileSync(join(ROOT, 'docs', 'capacity.md'), doc);
console.log(`docs/capacity.md written: ${models.map((m) => `${n(m.agents)} agents ${usdf(m.total)}/month, first limit ${m.first.name} at ${n(m.first.share * 100, 0)} %`).join('; ')}`);
