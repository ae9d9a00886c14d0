// gatehouse's benchmark (bench/README.md). `bench/run` builds the optimised release Worker, then
// runs this; `node bench/bench.mjs` alone measures whatever build/ holds.
//
// For every scenario it prints requests/s, p50 and p99 latency and the CPU time per request of
// the `wrangler dev` process group serving it (utime + stime from /proc/<pid>/stat of every
// process in the group, before and after, divided by the number of requests). Absolute times on
// a shared machine are noise; the figures to compare are the ratios within one run.
//
// Every scenario is measured, in alternating rounds, on gatehouse and on the reference Worker
// (bench/reference/: Cloudflare's @cloudflare/workers-oauth-provider), and the authenticated GET
// also on a bare pass-through Worker (bench/passthrough/); the report prints gatehouse ÷ reference.
// The metadata, the 401 and the authenticated GET are also measured on the workers-rs floor
// (bench/floor/, built by bench/run): the least a Rust Worker on gatehouse's `worker` and
// wasm-bindgen does for them, so the report can tell gatehouse's own cost from the platform's.
//
// Bounds (environment): BENCH_REQUESTS (2000) and BENCH_SECONDS (10) per scenario, BENCH_SETTLE
// (1000) requests to each server before the first scenario,
// BENCH_CONCURRENCY (8), BENCH_CODES (200) codes prepared for the exchange, BENCH_CHAINS (8)
// refresh chains. Everything listens on and talks to 127.0.0.1 only.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Browser, REDIRECT, authorizeUrl, personAt, pkce, tokenRequest } from '../tests/e2e/support/oauth.mjs';

const int = (name, fallback) => {
  const value = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const MAX_REQUESTS = int('BENCH_REQUESTS', 2000);
const MAX_MS = int('BENCH_SECONDS', 10) * 1000;
const CONCURRENCY = int('BENCH_CONCURRENCY', 8);
const CODES = Math.min(int('BENCH_CODES', 200), MAX_REQUESTS);
const CHAINS = int('BENCH_CHAINS', 8);
const ROUNDS = 4; // alternating rounds: every scenario is measured on each server in turn
const WARMUP = 30; // unmeasured requests before each repeatable scenario
// Unmeasured requests to each server before anything is measured, half discovery and half the
// gatekeeper's 401 path: V8 runs wasm first with its baseline compiler and optimises hot
// functions later, so without this the first scenario measured gatehouse's wasm before it was
// optimised (discovery read 1.54–1.59× the reference that way, 1.21× once settled).
const SETTLE = int('BENCH_SETTLE', 1000);
const PREP_MS = 30_000; // codes live 60 s: preparation must leave time to exchange them

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------
// CPU of a process group

const cmdlines = new Map();
const cmdline = (pid) => {
  if (!cmdlines.has(pid)) {
    try {
      cmdlines.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      cmdlines.set(pid, '');
    }
  }
  return cmdlines.get(pid);
};

/**
 * CPU seconds (utime + stime) of every live process whose process group is `server.pid`: the
 * total, and the share of the workerd that runs the Worker itself. `wrangler dev` runs two
 * workerd: one with wrangler's proxy and inspector-relay workers, listening on the port we
 * chose, and one with the Worker, listening on an internal port.
 */
function groupCpu(server) {
  // wrangler's own workerd listens on the address wrangler prints (the harness's `url` relays
  // straight to the Worker's socket instead).
  const port = new URL(server.wranglerUrl).port;
  let total = 0;
  let worker = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, state
    if (Number(fields[2]) !== server.pid) continue;
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    total += seconds;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (name === 'workerd' && !cmdline(pid).includes(`entry=127.0.0.1:${port} `)) worker += seconds;
  }
  return { total, worker };
}

const cpuDelta = (before, after) => ({ total: after.total - before.total, worker: after.worker - before.worker });

/** CPU milliseconds per second of the group while nothing is asked of it. */
async function idleCpu(server, ms = 3000) {
  const before = groupCpu(server);
  await new Promise((r) => setTimeout(r, ms));
  return ((groupCpu(server).total - before.total) * 1000) / (ms / 1000);
}

// ---------------------------------------------------------------------------------------------
// HTTP client: node:http with keep-alive (lighter on the shared CPU than fetch)

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

function request(base, path, { method = 'GET', headers = {}, body } = {}) {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', () => resolve({ status: 'error', headers: {}, body: '' }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 'error', headers: {}, body: String(e) }));
    req.end(body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (params) => new URLSearchParams(params).toString();

// ---------------------------------------------------------------------------------------------
// The load loop

/**
 * Sends `send(i, worker)` from `concurrency` workers until `maxRequests` were sent or `maxMs`
 * passed (or a worker's response says `stop`); returns the latencies, statuses, wall time and
 * the CPU the server's process group spent meanwhile.
 */
async function run({ server, send, maxRequests = MAX_REQUESTS, maxMs = MAX_MS, concurrency = CONCURRENCY }) {
  const latencies = [];
  const statuses = {};
  let issued = 0;
  const cpuBefore = groupCpu(server);
  const started = performance.now();
  const deadline = started + maxMs;
  const worker = async (w) => {
    while (issued < maxRequests && performance.now() < deadline) {
      const i = issued++;
      const t = performance.now();
      const res = await send(i, w);
      latencies.push(performance.now() - t);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.stop) break;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  return { latencies, statuses, seconds, cpu: cpuDelta(cpuBefore, groupCpu(server)) };
}

/** The figures of one or more runs of the same scenario taken together. */
function summarize(expect, runs) {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const statuses = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const sum = (f) => runs.reduce((acc, r) => acc + f(r), 0);
  const n = latencies.length;
  const pct = (p) => latencies[Math.min(n - 1, Math.floor((p / 100) * n))];
  return {
    n,
    ok: statuses[expect] ?? 0,
    expect,
    statuses,
    rps: n / sum((r) => r.seconds),
    p50: pct(50),
    p99: pct(99),
    cpuMs: (sum((r) => r.cpu.total) * 1000) / n,
    workerMs: (sum((r) => r.cpu.worker) * 1000) / n,
  };
}

const load = async (expect, options) => summarize(expect, [await run(options)]);

async function warmUp(count, send) {
  for (let i = 0; i < count; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count - i) }, (_, k) => send(i + k)));
  }
}

// ---------------------------------------------------------------------------------------------
// Setup: the origin, a snapshot of the build, the servers

const ORIGIN_MARK = 'gatehouse bench origin';

/** The origin app both gatehouse and the pass-through forward to. */
async function startOrigin() {
  const payload = JSON.stringify({ ok: true, items: [1, 2, 3], note: ORIGIN_MARK });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url.split('?')[0] === '/api/bench') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/**
 * Copies the built Worker, the migrations, .dev.vars and wrangler.toml (without its [build]
 * section) to a directory of its own, so that a rebuild in the working tree during the run can
 * neither reload nor change the Worker being measured.
 */
async function snapshotWorker() {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  await cp(join(ROOT, 'build'), join(dir, 'build'), { recursive: true });
  await cp(join(ROOT, 'migrations'), join(dir, 'migrations'), { recursive: true });
  await cp(join(ROOT, '.dev.vars'), join(dir, '.dev.vars'));
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  let inBuild = false;
  const kept = toml.split('\n').filter((line) => {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*$/.test(line);
    return !inBuild;
  });
  await writeFile(join(dir, 'wrangler.toml'), kept.join('\n'));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Preparation helpers (not timed)

/** Authorizes `client` as alice in `browser` (logging in and consenting when asked); a code. */
async function codeFor(base, browser, client, scope = 'read') {
  const { verifier, challenge } = pkce();
  const location = await personAt(base, authorizeUrl(base, client, { challenge, scope }), {}, browser);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`authorization gave no code: ${location}`);
  return { code, verifier, client_id: client.client_id };
}

const exchangeParams = ({ code, verifier, client_id }) => ({
  grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id,
});

/** Registers a public client from a source address of its own (outside scenario 2's range). */
let clients = 0;
async function registerClient(base) {
  const res = await request(base, '/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': `10.254.${(clients >> 8) & 255}.${clients++ & 255}` },
    body: JSON.stringify({
      client_name: 'bench agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

/** A new client of alice's with its tokens. */
async function tokensFor(base, browser, scope = 'read') {
  const client = await registerClient(base);
  const res = await tokenRequest(base, exchangeParams(await codeFor(base, browser, client, scope)));
  if (res.status !== 200) throw new Error(`token exchange failed: ${res.status} ${await res.text()}`);
  return { client, tokens: await res.json() };
}

/** A distinct source address per request, so the registration rate limit never applies. */
const sourceAddress = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

// ---------------------------------------------------------------------------------------------
// The reference Worker (bench/reference/): @cloudflare/workers-oauth-provider

/** Registers a public client with the reference Worker. */
async function referenceClient(base, i) {
  const res = await request(base, '/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'cf-connecting-ip': `10.253.${(i >> 8) & 255}.${i & 255}` },
    body: JSON.stringify({
      client_name: 'bench agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    }),
  });
  if (res.status !== 201) throw new Error(`reference registration failed: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

/** A code from the reference Worker: its defaultHandler completes every authorization at once. */
async function referenceCode(base, client) {
  const { verifier, challenge } = pkce();
  const query = new URLSearchParams({
    response_type: 'code', client_id: client.client_id, redirect_uri: REDIRECT, scope: 'read',
    state: 'st4te', code_challenge: challenge, code_challenge_method: 'S256',
  });
  const res = await request(base, `/oauth/authorize?${query}`);
  const code = res.headers.location && new URL(res.headers.location).searchParams.get('code');
  if (res.status !== 302 || !code) throw new Error(`reference authorization gave no code: ${res.status} ${res.body}`);
  return { code, verifier, client_id: client.client_id };
}

async function referenceTokens(base, i) {
  const client = await referenceClient(base, i);
  const res = await request(base, '/oauth/token', { method: 'POST', headers: FORM, body: form(exchangeParams(await referenceCode(base, client))) });
  if (res.status !== 200) throw new Error(`reference token exchange failed: ${res.status} ${res.body}`);
  return { client, tokens: JSON.parse(res.body) };
}

// ---------------------------------------------------------------------------------------------
// The run

/** The label of the workers-rs floor Worker (bench/floor/) in the report. */
const FLOOR = 'workers-rs floor';
/** Issue 20's CPU budgets: gatehouse ÷ reference, and gatehouse ÷ floor, per scenario key. */
const REFERENCE_BUDGETS = { dcr: 1, code: 1, refresh: 1 };
const FLOOR_BUDGETS = { metadata: 1.05, anon: 1.05, auth: 1.1 };
const results = []; // { key, name, server, devtools, result | na }
const idle = {}; // server → CPU ms/s while idle
/**
 * Whether wrangler's DevTools session is attached to the Worker's isolate while a scenario is
 * measured: 'attached' for the scenarios as specified, 'detached' for the repeat of some of them
 * without it (what production pays; bench/README.md, "Without the DevTools session").
 */
let devtools = 'attached';
const record = (key, name, server, result) => {
  results.push({ key, name, server, devtools, ...result });
  const line = result.na ? `n/a (${result.na})` : `${result.ok}/${result.n} ${result.expect}, ${result.rps.toFixed(0)} req/s`;
  console.error(`  ${name} [${server}]${devtools === 'detached' ? ' (no DevTools session)' : ''}: ${line}`);
};
/** The figure of `key` on `server` in the phase `phase`, if measured. */
const figure = (key, server, phase = 'attached') =>
  results.find((r) => r.key === key && r.server === server && r.devtools === phase && !r.na);

/**
 * Measures one scenario on several servers in ROUNDS alternating rounds of a quarter of the
 * bounds each, so that a change in the machine's load meets all of them alike. `sides`:
 * { server: label, target (the started server), send, expect, maxRequests?, concurrency?, na? };
 * a side with `na` is recorded as not measured.
 */
async function alternate(key, name, sides) {
  const live = sides.filter((s) => !s.na);
  const runs = live.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, side] of live.entries()) {
      const maxRequests = Math.ceil((side.maxRequests ?? MAX_REQUESTS) / ROUNDS);
      runs[k].push(await run({ server: side.target, send: side.send, concurrency: side.concurrency, maxRequests, maxMs: MAX_MS / ROUNDS }));
    }
  }
  for (const side of sides) {
    if (side.na) record(key, name, side.server, { na: side.na });
    else record(key, name, side.server, summarize(side.expect, runs[live.indexOf(side)]));
  }
}

async function scenarios(origin, workerDir) {
  const apps = [{ name: 'Bench', host: '*', scopes: { read: 'Read' }, policy: { allow_domains: ['example.com'] }, origin: origin.url }];
  const config = join(workerDir, 'wrangler.toml');
  let gh = await startGatehouse({ config, vars: { APPS: JSON.stringify(apps) } });
  let gatekeeperConfig = true;
  const probe = await request(gh.url, '/.well-known/oauth-authorization-server');
  if (probe.status !== 200) {
    // This build does not take the gatekeeper's `origin` field yet: measure the rest without it.
    console.error(`  APPS with "origin" answered ${probe.status}; restarting without it`);
    await gh.stop();
    delete apps[0].origin;
    gatekeeperConfig = probe.status;
    gh = await startGatehouse({ config, vars: { APPS: JSON.stringify(apps) } });
  }
  const base = gh.url;
  const server = gh;
  let pt;
  let ref;
  let fl;
  try {
    if (!existsSync(join(ROOT, 'bench', 'floor', 'build', 'index.js'))) {
      throw new Error('bench/floor/build/ is missing: run bench/run, which builds the workers-rs floor Worker');
    }
    const started = await Promise.allSettled([
      startGatehouse({ config: join(ROOT, 'bench', 'passthrough', 'wrangler.toml'), migrate: false, vars: { ORIGIN: origin.url } }),
      startGatehouse({ config: join(ROOT, 'bench', 'reference', 'wrangler.toml'), migrate: false }),
      startGatehouse({ config: join(ROOT, 'bench', 'floor', 'wrangler.toml'), migrate: false, vars: { ORIGIN: origin.url } }),
    ]);
    [pt, ref, fl] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const rb = ref.url;
    [idle.gatehouse, idle['pass-through'], idle.reference, idle[FLOOR]] = await Promise.all([idleCpu(server), idleCpu(pt), idleCpu(ref), idleCpu(fl)]);
    const both = (gh, rf) => [{ server: 'gatehouse', target: server, ...gh }, { server: 'reference', target: ref, ...rf }];
    const floor = (send, expect) => ({ server: FLOOR, target: fl, send, expect });

    // 1. AS metadata
    const metadata = (b) => () => request(b, '/.well-known/oauth-authorization-server');
    const settle = (b) => (i) => (i % 2 ? metadata(b)() : request(b, '/api/bench', { headers: { accept: 'application/json' } }));
    await Promise.all([warmUp(SETTLE, settle(base)), warmUp(SETTLE, settle(rb)), warmUp(SETTLE, settle(fl.url))]);
    await warmUp(WARMUP, metadata(base));
    await warmUp(WARMUP, metadata(rb));
    await warmUp(WARMUP, metadata(fl.url));
    await alternate('metadata', '1. GET /.well-known/oauth-authorization-server', [
      ...both({ send: metadata(base), expect: 200 }, { send: metadata(rb), expect: 200 }),
      floor(metadata(fl.url), 200),
    ]);

    // 2. Dynamic client registration, each request from its own source address.
    const registration = JSON.stringify({
      client_name: 'bench agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
    });
    const registerFrom = (b, ip) => request(b, '/oauth/register', {
      method: 'POST', body: registration, headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip },
    });
    await warmUp(WARMUP, (i) => registerFrom(base, `10.255.255.${i}`));
    await warmUp(WARMUP, (i) => registerFrom(rb, `10.255.255.${i}`));
    const registrations = (b) => {
      let next = 0; // a new source address per request, across rounds
      return () => registerFrom(b, sourceAddress(next++));
    };
    // Each keeps its count across both phases: a source address registers once.
    const [ghRegister, rfRegister] = [registrations(base), registrations(rb)];
    await alternate('dcr', '2. POST /oauth/register (DCR)',
      both({ send: ghRegister, expect: 201 }, { send: rfRegister, expect: 201 }));

    // Preparation for 3, 4 and 6: alice logs in once; one client per refresh chain, one for the
    // codes, one for the proxied requests. The reference completes authorizations without UI.
    const prepStarted = performance.now();
    const browser = new Browser(base);
    const chainClients = [];
    for (let k = 0; k < CHAINS; k++) chainClients.push(await tokensFor(base, browser));
    const proxied = await tokensFor(base, browser);
    const codeClient = await registerClient(base);
    await codeFor(base, browser, codeClient); // consent once; later authorizations redirect at once
    const refChains = [];
    for (let k = 0; k < CHAINS; k++) refChains.push(await referenceTokens(rb, k));
    const refApi = await referenceTokens(rb, CHAINS);
    const refCodeClient = await referenceClient(rb, CHAINS + 1);
    console.error(`  prepared ${CHAINS + 1} clients with tokens on each in ${((performance.now() - prepStarted) / 1000).toFixed(1)} s`);

    // 3. Authorization-code exchange: CODES codes prepared first on each (each works once; on
    // gatehouse for 60 s), the reference's first since they are quicker to make.
    const prepCodes = performance.now();
    const prepare = async (make, ms) => {
      const codes = [];
      const prepDeadline = performance.now() + ms;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (codes.length < CODES + WARMUP && performance.now() < prepDeadline) {
          const slot = codes.push(null) - 1;
          codes[slot] = await make();
        }
      }));
      return codes;
    };
    const refCodes = await prepare(() => referenceCode(rb, refCodeClient), PREP_MS / 2);
    const codes = await prepare(() => codeFor(base, browser, codeClient), PREP_MS);
    console.error(`  prepared ${codes.length} + ${refCodes.length} codes in ${((performance.now() - prepCodes) / 1000).toFixed(1)} s`);
    const exchanges = (b, list) => {
      const warm = Math.min(WARMUP, Math.max(0, list.length - CODES)); // the rest are measured
      let next = warm;
      const exchange = (c) => request(b, '/oauth/token', { method: 'POST', headers: FORM, body: form(exchangeParams(c)) });
      return { warm: () => warmUp(warm, (i) => exchange(list[i])), send: () => exchange(list[next++]), count: list.length - warm };
    };
    const [ghx, rfx] = [exchanges(base, codes), exchanges(rb, refCodes)];
    await ghx.warm();
    await rfx.warm();
    await alternate('code', '3. POST /oauth/token authorization_code', both(
      { send: ghx.send, expect: 200, maxRequests: ghx.count },
      { send: rfx.send, expect: 200, maxRequests: rfx.count },
    ));

    // 4. Refresh: CHAINS independent chains, each refreshing sequentially with its newest token.
    const refresher = (b, chains) => {
      const tokens = chains.map((c) => c.tokens.refresh_token);
      return async (_, w) => {
        const res = await request(b, '/oauth/token', {
          method: 'POST', headers: FORM,
          body: form({ grant_type: 'refresh_token', refresh_token: tokens[w], client_id: chains[w].client.client_id }),
        });
        if (res.status !== 200) return { ...res, stop: true }; // the chain is broken: end it
        tokens[w] = JSON.parse(res.body).refresh_token;
        return res;
      };
    };
    const [ghRefresh, rfRefresh] = [refresher(base, chainClients), refresher(rb, refChains)];
    for (let w = 0; w < CHAINS; w++) await ghRefresh(0, w); // warm-up, one step of every chain
    for (let w = 0; w < CHAINS; w++) await rfRefresh(0, w);
    await alternate('refresh', `4. POST /oauth/token refresh_token (${CHAINS} chains)`, both(
      { send: ghRefresh, expect: 200, concurrency: CHAINS },
      { send: rfRefresh, expect: 200, concurrency: CHAINS },
    ));

    // 5. Unauthenticated request to a protected path: 401 with the Bearer challenge.
    const anonymous = (b) => () => request(b, '/api/bench', { headers: { accept: 'application/json' } });
    const challengedBy = (res) => res.status === 401 && /resource_metadata=/.test(res.headers['www-authenticate'] ?? '');
    const first = await anonymous(base)();
    const refFirst = await anonymous(rb)();
    const ghAnonNa = gatekeeperConfig === true && challengedBy(first) ? undefined : `got ${gatekeeperConfig === true ? first.status : gatekeeperConfig}`;
    const rfAnonNa = challengedBy(refFirst) ? undefined : `got ${refFirst.status}`;
    if (!ghAnonNa) await warmUp(WARMUP, anonymous(base));
    if (!rfAnonNa) await warmUp(WARMUP, anonymous(rb));
    await warmUp(WARMUP, anonymous(fl.url));
    await alternate('anon', '5. GET /api/bench without a token (401)', [
      ...both({ send: anonymous(base), expect: 401, na: ghAnonNa }, { send: anonymous(rb), expect: 401, na: rfAnonNa }),
      floor(anonymous(fl.url), 401),
    ]);

    // 6 and 7. The authenticated GET (gatehouse: proxied to the origin; reference: its apiHandler)
    // and the same GET through the bare pass-through, in alternating rounds.
    const withToken = (b, token) => () => request(b, '/api/bench', { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
    const authenticated = withToken(base, proxied.tokens.access_token);
    const refAuthenticated = withToken(rb, refApi.tokens.access_token);
    const viaPassthrough = () => request(pt.url, '/api/bench', { headers: { accept: 'application/json' } });
    const viaFloor = withToken(fl.url, proxied.tokens.access_token);
    const one = await authenticated();
    const refOne = await refAuthenticated();
    const ghAuthNa = gatekeeperConfig === true && one.status === 200 && one.body.includes(ORIGIN_MARK)
      ? undefined : `got ${gatekeeperConfig === true ? one.status : gatekeeperConfig}`;
    const rfAuthNa = refOne.status === 200 ? undefined : `got ${refOne.status}`;
    if (!ghAuthNa) await warmUp(WARMUP, authenticated);
    if (!rfAuthNa) await warmUp(WARMUP, refAuthenticated);
    await warmUp(WARMUP, viaPassthrough);
    await warmUp(WARMUP, viaFloor);
    await alternate('auth', '6. GET /api/bench with a token', [
      ...both({ send: authenticated, expect: 200, na: ghAuthNa }, { send: refAuthenticated, expect: 200, na: rfAuthNa }),
      { server: 'pass-through', target: pt, send: viaPassthrough, expect: 200 },
      floor(viaFloor, 200),
    ]);

    // 8–10. Made-up identifiers at the token endpoint (issue 15 §6): a client_id nobody
    // registered (half shaped like gatehouse's tagged ids with a wrong tag, half untagged like ids
    // from before tags), and, with a real client, a made-up code and a made-up refresh token.
    // gatehouse refuses them before storage; each used to cost a D1 query.
    const madeUpClientId = (i) => (i % 2 ? `c_${randomBytes(16).toString('hex')}.${randomBytes(16).toString('base64url')}` : `c_${randomBytes(16).toString('hex')}`);
    const madeUpSecret = (i) => (i % 2 ? `${randomBytes(32).toString('base64url')}.${randomBytes(16).toString('base64url')}` : randomBytes(32).toString('base64url'));
    const tokenPost = (b, params) => request(b, '/oauth/token', { method: 'POST', headers: FORM, body: form(params) });
    const forgedClient = (b) => {
      let i = 0;
      return () => tokenPost(b, { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, code_verifier: 'x'.repeat(43), client_id: madeUpClientId(i++) });
    };
    const forgedCode = (b, client) => {
      let i = 0;
      return () => tokenPost(b, { ...exchangeParams({ code: madeUpSecret(i++), verifier: 'x'.repeat(43), client_id: client.client_id }) });
    };
    const forgedRefresh = (b, client) => {
      let i = 0;
      return () => tokenPost(b, { grant_type: 'refresh_token', refresh_token: madeUpSecret(i++), client_id: client.client_id });
    };
    const forged = [
      ['forged_client', '8. POST /oauth/token, made-up client_id', forgedClient(base), forgedClient(rb), 401],
      ['forged_code', '9. POST /oauth/token, made-up code', forgedCode(base, codeClient), forgedCode(rb, refCodeClient), 400],
      ['forged_refresh', '10. POST /oauth/token, made-up refresh_token', forgedRefresh(base, chainClients[0].client), forgedRefresh(rb, refChains[0].client), 400],
    ];
    for (const [key, name, ghSend, rfSend, expect] of forged) {
      await warmUp(WARMUP, ghSend);
      await warmUp(WARMUP, rfSend);
      await alternate(key, name, both({ send: ghSend, expect }, { send: rfSend, expect }));
    }

    // The same Workers with wrangler's DevTools session ended (the harness stops the
    // ProxyWorker that holds it): discovery, the 401, the authenticated GET, registration and the
    // refresh again, for what they cost where no debugger is attached, as in production.
    await Promise.all([server, pt, ref, fl].map((s) => s.detachInspector()));
    devtools = 'detached';
    await Promise.all([warmUp(WARMUP, settle(base)), warmUp(WARMUP, settle(rb)), warmUp(WARMUP, settle(fl.url))]);
    await alternate('metadata', '1. GET /.well-known/oauth-authorization-server', [
      ...both({ send: metadata(base), expect: 200 }, { send: metadata(rb), expect: 200 }),
      floor(metadata(fl.url), 200),
    ]);
    await alternate('anon', '5. GET /api/bench without a token (401)', [
      ...both({ send: anonymous(base), expect: 401, na: ghAnonNa }, { send: anonymous(rb), expect: 401, na: rfAnonNa }),
      floor(anonymous(fl.url), 401),
    ]);
    await alternate('auth', '6. GET /api/bench with a token', [
      ...both({ send: authenticated, expect: 200, na: ghAuthNa }, { send: refAuthenticated, expect: 200, na: rfAuthNa }),
      { server: 'pass-through', target: pt, send: viaPassthrough, expect: 200 },
      floor(viaFloor, 200),
    ]);
    await alternate('dcr', '2. POST /oauth/register (DCR)',
      both({ send: ghRegister, expect: 201 }, { send: rfRegister, expect: 201 }));
    await alternate('refresh', `4. POST /oauth/token refresh_token (${CHAINS} chains)`, both(
      { send: ghRefresh, expect: 200, concurrency: CHAINS },
      { send: rfRefresh, expect: 200, concurrency: CHAINS },
    ));
  } finally {
    await Promise.all([gh.stop(), pt?.stop(), ref?.stop(), fl?.stop()]);
  }
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

const ms = (x) => x.toFixed(2);

function report(wasm, started) {
  const base = figure('auth', 'pass-through');
  const rows = [['scenario', 'server', 'ok/requests', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'Worker workerd ms/req', 'CPU ÷ pass-through']];
  for (const r of results.filter((r) => r.devtools === 'attached')) {
    if (r.na) {
      rows.push([r.name, r.server, `n/a (${r.na})`, '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      r.name, r.server,
      r.ok === r.n ? String(r.n) : `${r.ok}/${r.n} ${JSON.stringify(r.statuses)}`,
      r.rps.toFixed(0), ms(r.p50), ms(r.p99), ms(r.cpuMs), ms(r.workerMs),
      base ? `${(r.cpuMs / base.cpuMs).toFixed(2)}×` : '',
    ]);
  }
  const out = [];
  out.push('', `gatehouse bench — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), node ${process.version}`);
  out.push(`bounds: at most ${MAX_REQUESTS} requests or ${MAX_MS / 1000} s per scenario and server, in ${ROUNDS} alternating rounds, concurrency ${CONCURRENCY} (refresh: ${CHAINS} chains); ${CODES} codes prepared`);
  out.push(`release wasm build/index_bg.wasm: ${wasm.raw} bytes raw (${(wasm.raw / 1024).toFixed(0)} KiB), ${wasm.gzip} bytes gzip (${(wasm.gzip / 1024).toFixed(0)} KiB); budget ≤ 600,000 bytes gzip: ${wasm.gzip <= 600_000 ? 'met' : 'NOT met'}`);
  out.push('', ...table(rows), '');
  out.push('CPU ms/req: utime+stime of every process in the wrangler dev process group (wrangler\'s node, both');
  out.push('workerd, esbuild) after minus before the scenario, divided by its requests. Worker workerd: the');
  out.push('share of the workerd running the Worker (not wrangler\'s proxy/inspector one). Idle CPU of the');
  out.push(`groups: ${Object.entries(idle).map(([k, v]) => `${k} ${v.toFixed(1)} ms/s`).join(', ')}. Compare ratios within one run only.`);

  // Side by side with the reference library, CPU in the Worker's own workerd.
  const side = [['scenario', 'gatehouse req/s', 'p50', 'p99', 'CPU ms/req', 'reference req/s', 'p50', 'p99', 'CPU ms/req', 'CPU ratio', 'req/s ratio', 'budget']];
  for (const key of ['auth', 'anon', 'metadata', 'dcr', 'code', 'refresh', 'forged_client', 'forged_code', 'forged_refresh']) {
    const g = results.find((r) => r.key === key && r.server === 'gatehouse' && r.devtools === 'attached');
    const f = results.find((r) => r.key === key && r.server === 'reference' && r.devtools === 'attached');
    if (!g || !f) continue;
    const cells = (r) => (r.na ? [`n/a (${r.na})`, '', '', ''] : [r.rps.toFixed(0), ms(r.p50), ms(r.p99), ms(r.workerMs)]);
    // Issue 20's budgets against the reference: registration, code exchange and refresh. The
    // discovery, 401 and authenticated budgets are against the floor (its table, below).
    const limit = REFERENCE_BUDGETS[key];
    let ratio = '';
    let tput = '';
    let verdict = limit ? 'n/a' : FLOOR_BUDGETS[key] ? '÷ floor, below' : '';
    if (!g.na && !f.na) {
      const q = g.workerMs / f.workerMs;
      ratio = `${q.toFixed(2)}×`;
      tput = `${(g.rps / f.rps).toFixed(2)}×`;
      if (limit) verdict = `≤ ${limit}×: ${q <= limit ? 'met' : 'MISSED'}`;
    }
    side.push([g.name, ...cells(g), ...cells(f), ratio, tput, verdict]);
  }
  out.push('', 'gatehouse ÷ reference (@cloudflare/workers-oauth-provider), CPU = the Worker\'s own workerd, ms per request:', '', ...table(side), '');
  out.push('Budgets (issue 20): registration, code exchange and refresh ≤ 1.0× the reference\'s CPU; discovery, the 401 and');
  out.push('the authenticated GET against the workers-rs floor (next table). The reference\'s apiHandler answers itself;');
  out.push('gatehouse\'s authenticated request also proxies to the origin.');

  out.push('', ...floorReport(), '', ...detachedReport());

  const proxied = results.find((r) => r.key === 'auth' && r.server === 'gatehouse' && r.devtools === 'attached');
  out.push('');
  if (proxied && !proxied.na && base) {
    const extra = proxied.cpuMs - base.cpuMs;
    out.push(`authenticated proxied GET /api/bench, CPU per request: gatehouse ${ms(proxied.cpuMs)} ms, pass-through ${ms(base.cpuMs)} ms`);
    out.push(`gatehouse's extra CPU per authenticated request: ${ms(extra)} ms; in the Worker's workerd alone: ${ms(proxied.workerMs - base.workerMs)} ms`);
    out.push(`throughput, gatehouse ÷ pass-through: ${(proxied.rps / base.rps).toFixed(2)}`);
  } else {
    out.push(`gatehouse's extra CPU per authenticated request: n/a (${proxied?.na ?? 'no pass-through figure'})`);
  }
  out.push(`run took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(out.join('\n'));
}

/**
 * The floor table: for the scenarios the workers-rs floor Worker answers, its CPU (the Worker's
 * own workerd) next to gatehouse's and the reference's. floor ÷ reference above 1× means no
 * Worker on workers-rs meets a ≤ 1× budget there; gatehouse ÷ floor is gatehouse's own cost.
 */
function floorReport() {
  const rows = [['scenario', 'workers-rs floor CPU ms/req', 'gatehouse ÷ floor', 'budget', 'floor ÷ reference']];
  for (const key of ['metadata', 'anon', 'auth']) {
    const [g, f, fl] = ['gatehouse', 'reference', FLOOR].map((server) => figure(key, server));
    if (!fl) continue;
    const ratio = (a, b) => (a && b ? `${(a.workerMs / b.workerMs).toFixed(2)}×` : 'n/a');
    const limit = FLOOR_BUDGETS[key];
    const verdict = g ? `≤ ${limit}×: ${g.workerMs / fl.workerMs <= limit ? 'met' : 'MISSED'}` : 'n/a';
    rows.push([fl.name, ms(fl.workerMs), ratio(g, fl), verdict, ratio(fl, f)]);
  }
  return [
    'The workers-rs floor (bench/floor/: a Rust Worker on gatehouse\'s worker and wasm-bindgen versions that answers a',
    'constant document, a constant 401, or forwards to the origin), CPU = the Worker\'s own workerd:',
    '', ...table(rows),
  ];
}

/**
 * The repeat without wrangler's DevTools session: gatehouse, the reference and the floor side by
 * side, CPU of the Worker's own workerd, for what production pays (no debugger attached there).
 */
function detachedReport() {
  const rows = [['scenario', 'gatehouse', 'reference', 'workers-rs floor', 'gatehouse ÷ reference', 'gatehouse ÷ floor']];
  for (const key of ['metadata', 'anon', 'auth', 'dcr', 'refresh']) {
    const [g, f, fl] = ['gatehouse', 'reference', FLOOR].map((server) => figure(key, server, 'detached'));
    if (!g) continue;
    const ratio = (a, b) => (a && b ? `${(a.workerMs / b.workerMs).toFixed(2)}×` : '');
    rows.push([g.name, ms(g.workerMs), f ? ms(f.workerMs) : '', fl ? ms(fl.workerMs) : '', ratio(g, f), ratio(g, fl)]);
  }
  return [
    'Without wrangler\'s DevTools session (its ProxyWorker stopped; nothing captures console.log stack traces or',
    'subrequest events, as in production), CPU = the Worker\'s own workerd, ms per request:',
    '', ...table(rows),
  ];
}

async function main() {
  const started = performance.now();
  const workerDir = await snapshotWorker();
  const wasmBytes = await readFile(join(workerDir, 'build', 'index_bg.wasm'));
  const wasm = { raw: wasmBytes.length, gzip: gzipSync(wasmBytes).length };
  const origin = await startOrigin();
  try {
    await scenarios(origin, workerDir);
  } finally {
    agent.destroy();
    await origin.stop();
    await rm(workerDir, { recursive: true, force: true });
  }
  report(wasm, started);
  saveResults(wasm);
}

/** Every figure of the run as JSON, for bench/capacity.mjs (docs/capacity.md). */
function saveResults(wasm) {
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const out = { date: new Date().toISOString(), cpus: cpus().length, node: process.version, wasm, idle, results: results.map(({ latencies, ...r }) => r) };
  writeFileSync(join(ROOT, 'bench', 'results', 'bench.json'), `${JSON.stringify(out, null, 2)}\n`);
}

// Ctrl-C: exit through process.exit so that the harness's exit hook stops the servers' groups.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
