// Where a request's CPU goes inside the Worker's isolate: starts gatehouse (the build in build/)
// with the e2e harness, attaches V8's sampling profiler through `wrangler dev`'s inspector port,
// sends one scenario's requests, and prints the functions with the most samples (self and
// inclusive) and the isolate's busy time per request. Time outside V8 (workerd's own C++,
// local D1's SQLite) is not in it; bench/bench.mjs measures that.
//
//   node bench/profile.mjs metadata|401|register|authenticated|refresh|exchange [requests]
//
// (default 2000; `exchange` at most 400, its codes made before the profile starts and spent
// within their 60 s). `refresh` runs one refresh chain per concurrent request, each presenting
// the token the one before received.
//
// Everything listens on 127.0.0.1 and is stopped at the end. Build first with the function names
// kept (`GATEHOUSE_KEEP_NAMES=1 scripts/build`), or the profile names wasm functions by index.
import http from 'node:http';
import { startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { inspect } from '../tests/e2e/support/inspector.mjs';
import { REDIRECT, authorizeAsPerson, pkce, register, tokenRequest } from '../tests/e2e/support/oauth.mjs';

const [scenario = 'metadata', count = '2000'] = process.argv.slice(2);
const REQUESTS = Math.min(Number.parseInt(count, 10) || 2000, scenario === 'exchange' ? 400 : 20_000);
const WARM_UP = scenario === 'exchange' ? 8 : 100;
const CONCURRENCY = 4;
const SAMPLING_US = 100;

/** The origin an authenticated request is proxied to. */
async function startOrigin() {
  const payload = JSON.stringify({ ok: true, items: [1, 2, 3] });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(payload));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => server.close() };
}

/** A request of the scenario: `[path, options]` for node:http. */
async function scenarioRequest(gh) {
  switch (scenario) {
    case 'metadata':
      return () => ['/.well-known/oauth-authorization-server', { method: 'GET' }];
    case '401':
      return () => ['/api/profile', { method: 'GET' }];
    case 'register': {
      let n = 0;
      const body = JSON.stringify({ client_name: 'Profile', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' });
      // A source address per request: the registration rate limit never answers.
      return () => {
        n += 1;
        const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
        return ['/oauth/register', { method: 'POST', body, headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip } }];
      };
    }
    case 'authenticated': {
      const { access_token: token } = (await tokensOf(gh)).tokens;
      return () => ['/api/profile', { method: 'GET', headers: { authorization: `Bearer ${token}` } }];
    }
    case 'refresh': {
      const chains = [];
      for (let slot = 0; slot < CONCURRENCY; slot++) chains.push(await tokensOf(gh));
      const next = (slot) => {
        const { client, tokens } = chains[slot];
        const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }).toString();
        return ['/oauth/token', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } }];
      };
      next.answered = (slot, text) => {
        chains[slot].tokens = JSON.parse(text);
      };
      return next;
    }
    case 'exchange': {
      const client = await register(gh.url, { scope: 'read' });
      const codes = [];
      // As many as the loop below sends: whole rounds of CONCURRENCY.
      for (let i = 0; i < Math.ceil(REQUESTS / CONCURRENCY) * CONCURRENCY + WARM_UP; i++) {
        const { verifier, challenge } = pkce();
        const location = await authorizeAsPerson(gh.url, client, { challenge, scope: 'read' });
        codes.push(new URLSearchParams({
          grant_type: 'authorization_code', code: location.searchParams.get('code'), redirect_uri: REDIRECT,
          code_verifier: verifier, client_id: client.client_id,
        }).toString());
      }
      return () => ['/oauth/token', { method: 'POST', body: codes.shift(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }];
    }
    default:
      throw new Error(`unknown scenario ${scenario}: metadata, 401, register, authenticated, refresh or exchange`);
  }
}

/** A client and the tokens of a grant to it. */
async function tokensOf(gh) {
  const client = await register(gh.url, { scope: 'read' });
  const { verifier, challenge } = pkce();
  const location = await authorizeAsPerson(gh.url, client, { challenge, scope: 'read' });
  const res = await tokenRequest(gh.url, {
    grant_type: 'authorization_code', code: location.searchParams.get('code'), redirect_uri: REDIRECT,
    code_verifier: verifier, client_id: client.client_id,
  });
  return { client, tokens: await res.json() };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
/** Sends request `slot` of the scenario; its status, once its answer is read. */
function send(base, next, slot) {
  const [path, { body, ...options }] = next(slot);
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { agent, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        next.answered?.(slot, text);
        resolve(res.statusCode);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Samples per function: self, and inclusive (each function once per stack). */
function tally(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const name = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber})`;
  const self = new Map();
  const inclusive = new Map();
  for (const sample of profile.samples) {
    const leaf = nodes.get(sample);
    self.set(name(leaf), (self.get(name(leaf)) ?? 0) + 1);
    const seen = new Set();
    for (let at = sample; at !== undefined; at = parent.get(at)) {
      const key = name(nodes.get(at));
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
      seen.add(key);
    }
  }
  return { self, inclusive, total: profile.samples.length, idle: self.get('(idle)') ?? 0 };
}

function top(title, counts, total, filter = () => true, rows = 30) {
  console.log(`\n${title}`);
  const sorted = [...counts].filter(([name]) => filter(name)).sort((a, b) => b[1] - a[1]).slice(0, rows);
  for (const [name, samples] of sorted) console.log(`${((100 * samples) / total).toFixed(1).padStart(6)}%  ${name.slice(0, 140)}`);
}

const origin = await startOrigin();
const apps = [{ name: 'Profile', host: '*', scopes: { read: 'Read' }, policy: { allow_domains: ['example.com'] }, origin: origin.url }];
const gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
try {
  const next = await scenarioRequest(gh);
  for (let i = 0; i < WARM_UP; i++) await send(gh.url, next, i % CONCURRENCY); // warm the isolate and its caches
  const inspector = await inspect(gh.inspectorPort);
  await inspector.call('Profiler.enable');
  await inspector.call('Profiler.setSamplingInterval', { interval: SAMPLING_US });
  await inspector.call('Profiler.start');
  const statuses = {};
  for (let sent = 0; sent < REQUESTS; sent += CONCURRENCY) {
    const batch = await Promise.all(Array.from({ length: CONCURRENCY }, (_, slot) => send(gh.url, next, slot)));
    for (const status of batch) statuses[status] = (statuses[status] ?? 0) + 1;
  }
  const { profile } = await inspector.call('Profiler.stop');
  inspector.close();
  const { self, inclusive, total, idle } = tally(profile);
  console.log(`${scenario}: ${REQUESTS} requests, statuses ${JSON.stringify(statuses)}`);
  console.log(`isolate busy ${(((total - idle) * SAMPLING_US) / REQUESTS).toFixed(0)} µs per request (${total} samples of ${SAMPLING_US} µs)`);
  top('self', self, total);
  top('inclusive, gatehouse and the Rust crates it uses', inclusive, total, (n) => /gatehouse|worker::|url::|serde|sha2|hmac/.test(n));
} finally {
  agent.destroy();
  await gh.stop();
  origin.stop();
}
