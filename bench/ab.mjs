// A/B of two builds of gatehouse on the paths that touch no storage (and registration): the
// CPU the Worker's own workerd spends per request, both builds served at the same time and
// measured in alternating rounds, so that a change in the machine's load meets both alike.
//
//   cp -r build /tmp/a-build   # one build
//   …change, rebuild…
//   node bench/ab.mjs /tmp/a-build build [metadata,401,authenticated,register]
//
// Each argument is a directory holding a worker-build output (`index.js`, `index_bg.wasm`, …);
// each is copied with migrations/, .dev.vars and wrangler.toml (without [build]) into a
// directory of its own, as bench/bench.mjs does. Bounds: AB_ROUNDS (default 6) rounds of
// AB_REQUESTS (default 300) requests per build and scenario, 4 at a time, after AB_SETTLE
// (default 600) unmeasured requests per build and scenario; with AB_DEVTOOLS=detached, without
// wrangler's DevTools session. Everything listens on 127.0.0.1 and
// is stopped at the end.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT, startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { REDIRECT, authorizeAsPerson, pkce, tokenRequest } from '../tests/e2e/support/oauth.mjs';

const [dirA, dirB, list = 'metadata,401,authenticated'] = process.argv.slice(2);
if (!dirA || !dirB) {
  console.error('usage: node bench/ab.mjs <build dir A> <build dir B> [metadata,401,authenticated,register]');
  process.exit(2);
}
const bound = (name, fallback, max) => Math.min(Number.parseInt(process.env[name] ?? '', 10) || fallback, max);
const ROUNDS = bound('AB_ROUNDS', 6, 20);
const REQUESTS = bound('AB_REQUESTS', 300, 2000);
const SETTLE = bound('AB_SETTLE', 600, 5000);
const CONCURRENCY = 4;
// AB_DEVTOOLS=detached ends wrangler's DevTools session on both Workers first (bench/README.md,
// "Without the DevTools session"): what the builds cost where no debugger is attached.
const DETACHED = process.env.AB_DEVTOOLS === 'detached';
const ROUND_MS = 20_000;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds of the workerd running the Worker in `server`'s process group (not wrangler's proxy). */
function workerCpu(server) {
  // wrangler's own workerd listens on the address wrangler prints (the harness's `url` relays
  // straight to the Worker's socket instead).
  const port = new URL(server.wranglerUrl).port;
  let seconds = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    let cmd;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(workerd)')) continue;
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== server.pid || cmd.includes(`entry=127.0.0.1:${port} `)) continue;
    seconds += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  }
  return seconds;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });
function request(base, path, { method = 'GET', headers = {}, body } = {}) {
  const url = new URL(path, base);
  return new Promise((done) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
      res.on('error', () => done('error'));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => done('error'));
    req.end(body);
  });
}

async function snapshot(buildDir) {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-ab-'));
  await cp(resolve(buildDir), join(dir, 'build'), { recursive: true });
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

async function startOrigin() {
  const payload = JSON.stringify({ ok: true, items: [1, 2, 3] });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(payload));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, stop: () => { server.closeAllConnections(); server.close(); } };
}

/** The request of `scenario` against `gh`: a function of the request's number. */
async function sender(scenario, gh) {
  const base = gh.url;
  switch (scenario) {
    case 'metadata':
      return () => request(base, '/.well-known/oauth-authorization-server');
    case '401':
      return () => request(base, '/api/bench', { headers: { accept: 'application/json' } });
    case 'authenticated': {
      const client = await registerFrom(base, '10.254.0.1');
      const { verifier, challenge } = pkce();
      const location = await authorizeAsPerson(base, JSON.parse(client), { challenge, scope: 'read' });
      const res = await tokenRequest(base, {
        grant_type: 'authorization_code', code: location.searchParams.get('code'), redirect_uri: REDIRECT,
        code_verifier: verifier, client_id: JSON.parse(client).client_id,
      });
      const { access_token: token } = await res.json();
      return () => request(base, '/api/bench', { headers: { authorization: `Bearer ${token}` } });
    }
    case 'register': {
      let n = 0;
      return () => {
        n += 1;
        return registerFrom(base, `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, true);
      };
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

const REGISTRATION = JSON.stringify({
  client_name: 'ab agent', redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
});
function registerFrom(base, ip, statusOnly = false) {
  const url = new URL('/oauth/register', base);
  return new Promise((done, fail) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'cf-connecting-ip': ip } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => done(statusOnly ? res.statusCode : body));
    });
    req.on('error', statusOnly ? () => done('error') : fail);
    req.end(REGISTRATION);
  });
}

/** Sends `count` requests, `CONCURRENCY` at a time; the Worker's CPU ms per request and the statuses. */
async function measure(gh, send, count) {
  const statuses = {};
  let issued = 0;
  const before = workerCpu(gh);
  const deadline = performance.now() + ROUND_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (issued < count && performance.now() < deadline) {
      issued += 1;
      const status = await send();
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }));
  return { ms: ((workerCpu(gh) - before) * 1000) / issued, n: issued, statuses };
}

const origin = await startOrigin();
const apps = [{ name: 'Bench', host: '*', scopes: { read: 'Read' }, policy: { allow_domains: ['example.com'] }, origin: origin.url }];
const dirs = [await snapshot(dirA), await snapshot(dirB)];
const servers = [];
try {
  for (const dir of dirs) servers.push(await startGatehouse({ config: join(dir, 'wrangler.toml'), vars: { APPS: JSON.stringify(apps) } }));
  if (DETACHED) await Promise.all(servers.map((gh) => gh.detachInspector()));
  console.log(`A = ${dirA}, B = ${dirB}; ${ROUNDS} rounds × ${REQUESTS} requests per build, after ${SETTLE}${DETACHED ? '; no DevTools session' : ''}`);
  console.log('| scenario | A ms/req (per round) | B ms/req (per round) | B ÷ A |');
  console.log('| --- | --- | --- | ---: |');
  for (const scenario of list.split(',')) {
    const sends = await Promise.all(servers.map((gh) => sender(scenario, gh)));
    for (const [k, gh] of servers.entries()) await measure(gh, sends[k], SETTLE);
    const rounds = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [1, 0] : [0, 1];
      for (const k of order) rounds[k].push(await measure(servers[k], sends[k], REQUESTS));
    }
    const mean = (rs) => rs.reduce((a, x) => a + x.ms * x.n, 0) / rs.reduce((a, x) => a + x.n, 0);
    const [a, b] = rounds.map(mean);
    const show = (rs) => `${mean(rs).toFixed(3)} (${rs.map((x) => x.ms.toFixed(2)).join(' ')})`;
    const statuses = rounds.map((rs) => JSON.stringify(Object.assign({}, ...rs.map((x) => x.statuses))));
    console.log(`| ${scenario} | ${show(rounds[0])} | ${show(rounds[1])} | ${(b / a).toFixed(3)} |`);
    if (statuses[0] !== statuses[1]) console.log(`  statuses differ: A ${statuses[0]}, B ${statuses[1]}`);
  }
} finally {
  await Promise.all(servers.map((gh) => gh.stop()));
  origin.stop();
  agent.destroy();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
