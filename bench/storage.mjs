// Storage round trips per operation, latency under production-like storage, and an agent's way
// from its first 401 to its first 200 (bench/README.md, "Storage round trips and production-like
// latency"). `bench/run` runs it after bench.mjs; `node bench/storage.mjs` alone measures whatever
// build/ holds.
//
// gatehouse (build/) and the reference (bench/reference/) each run under `wrangler dev` behind the
// storage shim (bench/storage-shim.mjs): an entry module written here, in a directory of its own,
// that wraps the Worker's D1, KV and Queue bindings. The Worker's own code is unchanged. The shim
// counts the calls of every request (sequential round trips, D1 calls and rows, KV reads/writes,
// Queue messages; before and after the response) and, with BENCH_D1_DELAY_MS (30) and
// BENCH_KV_DELAY_MS (5), waits that long before each call, as production storage would.
//
// Bounds (environment): BENCH_STORAGE_REQUESTS (100) requests per scenario and server, at
// BENCH_STORAGE_CONCURRENCY (4), each scenario at most BENCH_SECONDS (10) s; BENCH_D1_DELAY_MS,
// BENCH_KV_DELAY_MS (0 turns the delay off); BENCH_STORAGE_LOG=1 also records which calls each
// request made (the first 40 per scenario, in the JSON). Writes bench/results/storage.json.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { auth, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { ROOT, startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { Browser, REDIRECT, authorizeUrl, personAt, pkce } from '../tests/e2e/support/oauth.mjs';

const int = (name, fallback, min = 1) => {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(value) && value >= min ? value : fallback;
};
const REQUESTS = int('BENCH_STORAGE_REQUESTS', 100);
const CONCURRENCY = int('BENCH_STORAGE_CONCURRENCY', 4);
const MAX_MS = int('BENCH_SECONDS', 10) * 1000;
const D1_DELAY = int('BENCH_D1_DELAY_MS', 30, 0);
const KV_DELAY = int('BENCH_KV_DELAY_MS', 5, 0);
const SETTLE_MS = 1500; // time for work after the response (waitUntil) to finish before counting

// ---------------------------------------------------------------------------------------------
// HTTP

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
function request(base, path, { method = 'GET', headers = {}, body } = {}) {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', () => resolve({ status: 'error', headers: {}, body: '' }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 'error', headers: {}, body: String(e) }));
    req.end(body);
  });
}
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (params) => new URLSearchParams(params).toString();
const json = (res) => JSON.parse(res.body);

// ---------------------------------------------------------------------------------------------
// The Workers behind the shim

/** A directory holding `wrangler.toml` (from `toml`, with `main` replaced) and the shim entry. */
async function shimmed({ dir, toml, entry }) {
  await cp(join(ROOT, 'bench', 'storage-shim.mjs'), join(dir, 'storage-shim.mjs'));
  await writeFile(join(dir, 'bench-entry.mjs'), entry);
  let inBuild = false;
  const kept = toml.split('\n').filter((line) => {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*$/.test(line);
    return !inBuild;
  }).map((line) => (/^main\s*=/.test(line) ? 'main = "bench-entry.mjs"' : line));
  await writeFile(join(dir, 'wrangler.toml'), kept.join('\n'));
  return join(dir, 'wrangler.toml');
}

export async function gatehouseConfig() {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-storage-'));
  await cp(join(ROOT, 'build'), join(dir, 'build'), { recursive: true });
  await cp(join(ROOT, 'migrations'), join(dir, 'migrations'), { recursive: true });
  await cp(join(ROOT, '.dev.vars'), join(dir, '.dev.vars'));
  const config = await shimmed({
    dir,
    toml: await readFile(join(ROOT, 'wrangler.toml'), 'utf8'),
    entry: "import Entrypoint from './build/index.js';\nimport { shimEntrypoint } from './storage-shim.mjs';\nexport default shimEntrypoint(Entrypoint);\n",
  });
  return { dir, config };
}

export async function referenceConfig() {
  const dir = await mkdtemp(join(tmpdir(), 'reference-storage-'));
  const worker = JSON.stringify(join(ROOT, 'bench', 'reference', 'worker.mjs'));
  const config = await shimmed({
    dir,
    toml: await readFile(join(ROOT, 'bench', 'reference', 'wrangler.toml'), 'utf8'),
    entry: `import worker from ${worker};\nimport { shimModule } from './storage-shim.mjs';\nexport default shimModule(worker);\n`,
  });
  return { dir, config };
}

/** The shim's totals since the previous call. */
const counts = async (base) => json(await request(base, '/__bench/storage'));

// ---------------------------------------------------------------------------------------------
// Measuring

async function load(send, { requests = REQUESTS, concurrency = CONCURRENCY } = {}) {
  const latencies = [];
  const statuses = {};
  let issued = 0;
  const deadline = performance.now() + MAX_MS;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    while (issued < requests && performance.now() < deadline) {
      const i = issued++;
      const t = performance.now();
      const res = await send(i, w);
      latencies.push(performance.now() - t);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  }));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { n: latencies.length, statuses, p50: pct(50), p99: pct(99) };
}

/** One scenario on one server: latency, and the storage calls per request. */
async function scenario(base, send, expect, options) {
  await counts(base); // reset
  const result = await load(send, options);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const c = await counts(base);
  const per = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, c.requests ? v / c.requests : 0]));
  return { ...result, ok: result.statuses[expect] ?? 0, expect, requests: c.requests, before: per(c.before), after: per(c.after), background: per(c.background), maxBefore: c.maxBefore, ...(c.log.length ? { log: c.log.slice(0, 40) } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Preparation

let addresses = 0;
const nextAddress = () => `10.${100 + ((addresses >> 16) & 127)}.${(addresses >> 8) & 255}.${addresses++ & 255}`;
const registration = () => JSON.stringify({
  client_name: 'bench agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
});
const register = (base) => request(base, '/oauth/register', {
  method: 'POST', body: registration(), headers: { 'content-type': 'application/json', 'cf-connecting-ip': nextAddress() },
});
async function client(base) {
  const res = await register(base);
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${res.body}`);
  return json(res);
}

/** The two servers' ways to a code (gatehouse: alice's browser; the reference: one GET). */
const codeMakers = {
  gatehouse: (base) => {
    const browser = new Browser(base);
    return async (c) => {
      const { verifier, challenge } = pkce();
      const location = await personAt(base, authorizeUrl(base, c, { challenge, scope: 'read' }), {}, browser);
      return { code: location.searchParams.get('code'), verifier, client_id: c.client_id };
    };
  },
  reference: (base) => async (c) => {
    const { verifier, challenge } = pkce();
    const query = new URLSearchParams({
      response_type: 'code', client_id: c.client_id, redirect_uri: REDIRECT, scope: 'read', state: 'st4te',
      code_challenge: challenge, code_challenge_method: 'S256',
    });
    const res = await request(base, `/oauth/authorize?${query}`);
    return { code: new URL(res.headers.location).searchParams.get('code'), verifier, client_id: c.client_id };
  },
};

const exchange = (base, { code, verifier, client_id }) => request(base, '/oauth/token', {
  method: 'POST', headers: FORM,
  body: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id }),
});

/** RFC 7009 revocation: gatehouse's endpoint, and the reference's (its token endpoint). */
const revokePath = { gatehouse: '/oauth/revoke', reference: '/oauth/token' };

async function measure(name, base) {
  const out = {};
  const say = (key, r) => {
    out[key] = r;
    console.error(`  ${name} ${key}: ${r.ok}/${r.n}, p50 ${r.p50?.toFixed(1)} ms, p99 ${r.p99?.toFixed(1)} ms, round trips ${r.before.roundTrips.toFixed(2)} (+${r.after.roundTrips.toFixed(2)} after)`);
  };
  const metadata = () => request(base, '/.well-known/oauth-authorization-server');
  const anonymous = () => request(base, '/api/bench', { headers: { accept: 'application/json' } });
  for (let i = 0; i < 20; i++) await Promise.all([metadata(), anonymous()]); // warm the isolate
  say('metadata', await scenario(base, metadata, 200));
  say('anon', await scenario(base, anonymous, 401));

  await register(base);
  say('dcr', await scenario(base, () => register(base), 201));

  // Codes: one client, alice authorizes (consents once); then exchanged, one per request.
  const codeClient = await client(base);
  const makeCode = codeMakers[name](base);
  await makeCode(codeClient);
  const codes = [];
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (codes.length < REQUESTS) codes.push(await makeCode(codeClient));
  }));
  // A new database's first token makes its signing key (read on a replica, then on the
  // primary, then inserted): once per deployment, so measured on its own, before the exchanges
  // of a database that has its key.
  const first = await makeCode(codeClient);
  say('codeFirst', await scenario(base, () => exchange(base, first), 200, { requests: 1 }));
  const tokens = [];
  let nextCode = 0;
  say('code', await scenario(base, async () => {
    const res = await exchange(base, codes[nextCode++]);
    if (res.status === 200) tokens.push({ ...json(res), client_id: codeClient.client_id });
    return res;
  }, 200, { requests: codes.length }));

  // Refresh: CONCURRENCY chains from the tokens just issued, each sequential.
  const chains = tokens.splice(0, CONCURRENCY).map((t) => ({ token: t.refresh_token, client_id: t.client_id }));
  say('refresh', await scenario(base, async (_, w) => {
    const chain = chains[w];
    const res = await request(base, '/oauth/token', {
      method: 'POST', headers: FORM, body: form({ grant_type: 'refresh_token', refresh_token: chain.token, client_id: chain.client_id }),
    });
    if (res.status === 200) chain.token = json(res).refresh_token;
    return res;
  }, 200, { concurrency: chains.length }));

  // Authenticated request with a token the isolate has verified once.
  const bearer = tokens.shift().access_token;
  const authenticated = () => request(base, '/api/bench', { headers: { accept: 'application/json', authorization: `Bearer ${bearer}` } });
  await authenticated();
  say('auth', await scenario(base, authenticated, 200));

  // Authenticated request with a token this isolate has not seen yet (each token once): what a
  // fresh token costs in every isolate it reaches after a refresh.
  let nextFresh = 0;
  say('authFirst', await scenario(base, () => request(base, '/api/bench', {
    headers: { accept: 'application/json', authorization: `Bearer ${tokens[nextFresh++].access_token}` },
  }), 200, { requests: tokens.length }));

  // Revocation of refresh tokens (RFC 7009), each token once.
  let nextToken = 0;
  say('revoke', await scenario(base, () => {
    const t = tokens[nextToken++];
    return request(base, revokePath[name], {
      method: 'POST', headers: FORM, body: form({ token: t.refresh_token, token_type_hint: 'refresh_token', client_id: t.client_id }),
    });
  }, 200, { requests: tokens.length }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// An agent with the MCP TypeScript SDK: from its first 401 to its first 200

/** The storage an MCP host keeps for one server, as the SDK's OAuthClientProvider. */
class Host {
  redirected = undefined;
  #client;
  #tokens;
  #verifier;
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: 'MCP SDK host', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { return 'mcp-state'; }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(tokens) { this.#tokens = tokens; }
  redirectToAuthorization(url) { this.redirected = url; }
  saveCodeVerifier(verifier) { this.#verifier = verifier; }
  codeVerifier() { return this.#verifier; }
}

async function agentFlow(name, base) {
  const serverUrl = `${base}/api/bench`;
  const requests = [];
  const agentFetch = async (url, init) => {
    const res = await fetch(url, init);
    requests.push({ method: init?.method ?? 'GET', path: new URL(url).pathname, status: res.status, cacheControl: res.headers.get('cache-control') });
    return res;
  };
  await counts(base);
  const started = performance.now();
  const first = await agentFetch(serverUrl, { headers: { accept: 'application/json' } });
  const challenge = first.headers.get('www-authenticate') ?? '';
  const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(first);
  const host = new Host();
  const step1 = await auth(host, { serverUrl, resourceMetadataUrl, scope, fetchFn: agentFetch });
  const agentBefore = requests.length;
  const personStarted = performance.now();
  let personRequests = 0;
  let callback;
  if (name === 'gatehouse') {
    const browser = new Browser(base);
    const fetchOnce = browser.fetch.bind(browser);
    browser.fetch = (...args) => { personRequests++; return fetchOnce(...args); };
    callback = await personAt(base, host.redirected, {}, browser);
  } else {
    personRequests++;
    const res = await request(base, host.redirected.pathname + host.redirected.search);
    callback = new URL(res.headers.location);
  }
  const personMs = performance.now() - personStarted;
  const step2 = await auth(host, { serverUrl, resourceMetadataUrl, scope, authorizationCode: callback.searchParams.get('code'), fetchFn: agentFetch });
  const last = await agentFetch(serverUrl, { headers: { accept: 'application/json', authorization: `Bearer ${host.tokens()?.access_token}` } });
  const wallMs = performance.now() - started;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const c = await counts(base);
  const result = {
    steps: [step1, step2], finalStatus: last.status, agentRequests: requests.length, personRequests,
    agentRequestsBeforePerson: agentBefore, wallMs, agentWallMs: wallMs - personMs,
    storageRoundTrips: c.before.roundTrips, storageRoundTripsAfter: c.after.roundTrips,
    challenge, challengeNamesScope: /\bscope="/.test(challenge), challengeNamesMetadata: /resource_metadata="/.test(challenge),
    requests,
  };
  console.error(`  ${name} agent: ${result.agentRequests} agent + ${personRequests} browser requests, ${result.storageRoundTrips} storage round trips, ${wallMs.toFixed(0)} ms, final ${last.status}`);
  return result;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const origin = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true,"items":[1,2,3],"note":"gatehouse bench origin"}');
    });
  });
  await new Promise((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originUrl = `http://127.0.0.1:${origin.address().port}`;
  // default_scopes: the 401 names the scope an agent should ask for (RFC 6750 §3), as a deployment
  // configured like the README's example does.
  const apps = [{ name: 'Bench', host: '*', scopes: { read: 'Read' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: originUrl }];
  const delays = { BENCH_D1_DELAY_MS: String(D1_DELAY), BENCH_KV_DELAY_MS: String(KV_DELAY), BENCH_STORAGE_LOG: process.env.BENCH_STORAGE_LOG === '1' ? '1' : '0' };
  const [g, r] = await Promise.all([gatehouseConfig(), referenceConfig()]);
  const servers = {};
  const results = { date: new Date().toISOString(), delays: { d1Ms: D1_DELAY, kvMs: KV_DELAY }, requests: REQUESTS, concurrency: CONCURRENCY, scenarios: {}, agent: {} };
  try {
    [servers.gatehouse, servers.reference] = await Promise.all([
      startGatehouse({ config: g.config, vars: { APPS: JSON.stringify(apps), ...delays } }),
      startGatehouse({ config: r.config, migrate: false, vars: delays }),
    ]);
    try {
      for (const name of ['gatehouse', 'reference']) results.scenarios[name] = await measure(name, servers[name].url);
    } catch (error) {
      if (process.env.BENCH_DEBUG) console.error(servers.gatehouse.log().slice(-4000));
      throw error;
    }
    for (const name of ['gatehouse', 'reference']) results.agent[name] = await agentFlow(name, servers[name].url);
    results.d1Bytes = await d1Bytes(servers.gatehouse.state);
  } finally {
    agent.destroy();
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    origin.closeAllConnections();
    origin.close();
    await Promise.all([g, r].map((x) => rm(x.dir, { recursive: true, force: true })));
  }
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'storage.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(report(results));
}

/**
 * What gatehouse's rows take in D1, per table: rows, bytes of the table and of each of its
 * indexes (SQLite's `dbstat`, pages as stored, so the pages' fill is counted), and bytes per row
 * with its indexes. Read from a copy of the local database file after the scenarios above wrote
 * their clients, grants, tokens and audit events (D1 itself answers neither `dbstat` nor
 * `PRAGMA page_count`). For the capacity model's storage limit.
 */
const execFileP = promisify(execFile);
export async function d1Bytes(state) {
  const dir = join(state, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const copy = await mkdtemp(join(tmpdir(), 'gatehouse-d1-'));
  try {
    const files = (await readdir(dir)).filter((f) => /\.sqlite(-wal)?$/.test(f) && !f.startsWith('metadata'));
    for (const f of files) await cp(join(dir, f), join(copy, f.replace(/^.*?\.sqlite/, 'db.sqlite')));
    const script = [
      'import json, sqlite3, sys',
      'c = sqlite3.connect(sys.argv[1])',
      'pages = dict(c.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))',
      'tables = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type = \'table\' AND name NOT LIKE \'sqlite_%\' AND name NOT LIKE \'_cf_%\' AND name NOT LIKE \'d1_%\'")]',
      'out = {}',
      'for t in tables:',
      '    rows = c.execute(f"SELECT COUNT(*) FROM [{t}]").fetchone()[0]',
      '    idx = {r[0]: pages.get(r[0], 0) for r in c.execute("SELECT name FROM sqlite_schema WHERE type = \'index\' AND tbl_name = ?", (t,))}',
      '    out[t] = {"rows": rows, "tableBytes": pages.get(t, 0), "indexBytes": idx}',
      'print(json.dumps(out))',
    ].join('\n');
    const { stdout } = await execFileP('python3', ['-c', script, join(copy, 'db.sqlite')]);
    const tables = JSON.parse(stdout);
    for (const t of Object.values(tables)) {
      const bytes = t.tableBytes + Object.values(t.indexBytes).reduce((a, b) => a + b, 0);
      t.bytesPerRow = t.rows ? bytes / t.rows : null;
    }
    return tables;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

const NAMES = {
  auth: 'authenticated GET (cached token)', authFirst: 'authenticated GET (token new to the isolate)', anon: '401 (no token)', metadata: 'discovery (AS metadata)',
  dcr: 'DCR', codeFirst: "code exchange, a new database's first token", code: 'code exchange', refresh: 'refresh', revoke: 'revocation (refresh token)',
};
const BUDGET = { auth: 0, anon: 0, metadata: 0, dcr: 1, code: 1, refresh: 1, revoke: 1 };

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  const line = (row) => row.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

export function report(results) {
  const f = (x, d = 2) => (x === undefined ? '' : Number(x).toFixed(d));
  const rows = [['operation', 'server', 'ok/n', 'seq. round trips before answer (max)', 'after answer (+ queue/cron)', 'budget', 'D1 calls', 'rows read', 'rows written', 'KV reads', 'KV writes', 'Queue msgs', `p50 ms`, `p99 ms`]];
  for (const key of Object.keys(NAMES)) {
    for (const name of ['gatehouse', 'reference']) {
      const s = results.scenarios[name]?.[key];
      if (!s) continue;
      const b = s.before;
      // Calls after the answer, and those of the Queue consumer and cron handler meanwhile.
      const a = Object.fromEntries(Object.keys(s.after).map((k) => [k, s.after[k] + (s.background?.[k] ?? 0)]));
      const met = name !== 'gatehouse' || BUDGET[key] === undefined ? '' : s.maxBefore <= BUDGET[key] ? `≤ ${BUDGET[key]} met` : `≤ ${BUDGET[key]} MISSED`;
      rows.push([NAMES[key], name, `${s.ok}/${s.n}`, `${f(b.roundTrips)} (${s.maxBefore})`, f(a.roundTrips), met, f(b.d1Calls + a.d1Calls),
        f(b.rowsRead + a.rowsRead, 1), f(b.rowsWritten + a.rowsWritten, 1), f(b.kvReads + a.kvReads), f(b.kvWrites + b.kvDeletes + a.kvWrites + a.kvDeletes),
        f(b.queueMessages + a.queueMessages), f(s.p50, 1), f(s.p99, 1)]);
    }
  }
  const out = ['', `storage round trips and latency — ${results.date.slice(0, 16)}Z; every D1 call delayed ${results.delays.d1Ms} ms, every KV call ${results.delays.kvMs} ms (bench/storage-shim.mjs); ${results.requests} requests per scenario at concurrency ${results.concurrency}`, '', ...table(rows), ''];
  out.push('Counts are per request (averages; "max" is the most any one request made). A round trip is a storage call');
  out.push('started while no other call of the request was in flight; a D1 batch is one call. KV writes include deletes.');
  out.push('"After answer" includes the calls of the Worker\'s Queue consumer and cron handler during the scenario,');
  out.push('per request of the scenario (the revocation\'s Queue message applied again by the consumer).');
  const agentRows = [['MCP TypeScript SDK agent', 'agent requests 401→200', 'of which before the person', 'browser requests', 'storage round trips', 'wall ms (agent share)', '401 names scope', '401 names metadata']];
  for (const name of ['gatehouse', 'reference']) {
    const a = results.agent[name];
    if (!a) continue;
    agentRows.push([name, a.agentRequests, a.agentRequestsBeforePerson, a.personRequests, a.storageRoundTrips, `${f(a.wallMs, 0)} (${f(a.agentWallMs, 0)})`, a.challengeNamesScope ? 'yes' : 'no', a.challengeNamesMetadata ? 'yes' : 'no']);
  }
  out.push('', ...table(agentRows), '');
  for (const name of ['gatehouse', 'reference']) {
    const a = results.agent[name];
    if (!a) continue;
    out.push(`${name}: ${a.requests.map((q) => `${q.method} ${q.path} ${q.status}${q.cacheControl ? ` [${q.cacheControl}]` : ''}`).join(' → ')}`);
  }
  return out.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
