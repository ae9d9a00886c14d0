// What the authenticated path asks of storage, counted inside the Worker's isolate: an agent's
// request with a token the isolate has verified makes no D1 query (the issue 9 budget), neither
// does one with a new token once the isolate holds the signing keys, and neither forged tokens
// naming unknown key ids nor made-up session cookies can make every request one; discovery
// documents and the challenge to a request without credentials are built once per isolate and
// answered again whole. Calls are counted
// through the inspector (support/inspector.mjs) on wasm-bindgen's import functions, so nothing in
// the Worker exists for this test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { countRuntimeCalls } from './support/inspector.mjs';
import { Browser, b64url, personAt, tokenRequest, tokensFor } from './support/oauth.mjs';
import { startOrigin } from './support/origin.mjs';

/** The D1 API: every query is prepared first; several go out as one batch. */
const D1 = ['prepare', 'batch'];
/** `new Response(stream, init)`: an origin's response built again with edited headers. */
const REBUILD = 'new_with_opt_readable_stream_and_init';
/** The clock (`Date.now()`, `new Date().getTime()`): read only for requests that are routed. */
const CLOCK = ['now', 'getTime'];

let gh;
let origin;
let probe;
before(async () => {
  origin = await startOrigin();
  const apps = [{ name: 'Files', host: '*', scopes: { read: 'Read files' }, policy: { allow_domains: ['example.com'] }, origin: origin.url }];
  gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
  probe = await countRuntimeCalls(gh.inspectorPort, [...D1, 'fetch', 'set', REBUILD, ...CLOCK]);
});
after(async () => {
  await probe?.stop();
  await gh?.stop();
  await origin?.stop();
});

async function get(token) {
  const res = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
}

const d1Calls = (calls) => Object.fromEntries(D1.map((method) => [method, calls[method] ?? 0]));

test('a cached token: twenty requests reach the origin and query D1 not once', async () => {
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  assert.equal(await get(tokens.access_token), 200, 'the first request verifies the token and reads the denylist');
  await probe.counts();
  const statuses = [];
  for (let i = 0; i < 20; i++) statuses.push(await get(tokens.access_token));
  const calls = await probe.counts();
  assert.deepEqual(statuses, Array(20).fill(200));
  assert.equal(calls.fetch, 20, 'the probe sees these requests: each one fetched from the origin');
  assert.deepEqual(d1Calls(calls), { prepare: 0, batch: 0 });
});

test('a token this isolate has not seen yet: verified with the cached keys, still no D1 query', async () => {
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  await probe.counts();
  assert.equal(await get(tokens.access_token), 200);
  const calls = await probe.counts();
  assert.equal(calls.fetch, 1);
  assert.deepEqual(d1Calls(calls), { prepare: 0, batch: 0 });
});

test('tokens naming made-up key ids: twenty at once are refused, at most one D1 query a second', async () => {
  const part = (json) => b64url(JSON.stringify(json));
  const claims = part({ iss: gh.url, aud: gh.url, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 });
  const forged = () => {
    const header = part({ alg: 'ES256', typ: 'at+jwt', kid: `k_${randomBytes(8).toString('hex')}` });
    return `${header}.${claims}.${b64url(randomBytes(64))}`;
  };
  await probe.counts();
  const started = Date.now();
  const statuses = await Promise.all(Array.from({ length: 20 }, () => get(forged())));
  const seconds = Math.ceil((Date.now() - started) / 1000);
  const calls = await probe.counts();
  assert.deepEqual(statuses, Array(20).fill(401));
  // An unknown kid may be a key another isolate has just made, so the keys are read again, but
  // not more than once a second (of the Worker's clock): forged tokens cannot make every
  // request a D1 query.
  assert.ok((calls.prepare ?? 0) <= seconds + 1, `D1 queries for 20 forged tokens in ${seconds} s: ${JSON.stringify(d1Calls(calls))}`);
});

test('browser sessions: made-up cookies are refused with no D1 query; a real one is looked up', async () => {
  const browser = new Browser(gh.url);
  const toLogin = await browser.fetch('/echo', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
  assert.equal(toLogin.status, 302);
  await personAt(gh.url, new URL(toLogin.headers.get('location'), gh.url), {}, browser);
  const [name, issued] = [...browser.cookies].find(([cookie]) => cookie.includes('session'));
  const asBrowser = async (value) => {
    const res = await fetch(`${gh.url}/echo`, { headers: { cookie: `${name}=${value}`, accept: 'application/json' } });
    await res.text();
    return res.status;
  };
  const [id, tag] = issued.split('.');
  const madeUp = () => `${b64url(randomBytes(32))}.${tag}`;
  await probe.counts();
  const forged = await Promise.all(Array.from({ length: 20 }, (_, i) => asBrowser(i % 2 ? madeUp() : `${id}.${b64url(randomBytes(16))}`)));
  const refused = await probe.counts();
  assert.deepEqual(forged, Array(20).fill(401));
  assert.deepEqual(d1Calls(refused), { prepare: 0, batch: 0 });
  assert.equal(await asBrowser(issued), 200);
  const looked = await probe.counts();
  assert.ok(looked.prepare > 0, `the real session is read from D1: ${JSON.stringify(looked)}`);
});

test('the probe counts D1 queries where there are some: a refresh', async () => {
  const { client, tokens } = await tokensFor(gh.url, { scope: 'read' });
  await probe.counts();
  const res = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
  assert.equal(res.status, 200);
  const calls = await probe.counts();
  assert.ok(calls.prepare > 0 && calls.batch > 0, `a refresh reads and writes D1: ${JSON.stringify(calls)}`);
});

test('discovery documents and the bare 401 are built once per isolate, and answered whole every time', async () => {
  const answers = async (path, headers = {}) => {
    const all = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gh.url}${path}`, { headers });
      all.push({ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() });
    }
    return all;
  };
  await answers('/.well-known/oauth-authorization-server');
  await answers('/echo', { accept: 'application/json' });
  await probe.counts();
  const documents = await answers('/.well-known/oauth-authorization-server');
  const challenges = await answers('/echo', { accept: 'application/json' });
  const calls = await probe.counts();
  assert.equal(JSON.parse(documents[0].body).issuer, gh.url);
  assert.equal(documents[0].headers['access-control-allow-origin'], '*');
  assert.equal(documents[0].headers['cache-control'], 'public, max-age=300');
  assert.equal(challenges[0].status, 401);
  assert.match(challenges[0].headers['www-authenticate'], /^Bearer resource_metadata="/);
  assert.equal(challenges[0].headers['cache-control'], 'no-store');
  assert.match(JSON.parse(challenges[0].body).error_description, /bearer token/);
  for (const all of [documents, challenges]) {
    for (const answer of all.slice(1)) {
      assert.deepEqual({ ...answer, headers: { ...answer.headers, date: undefined } }, { ...all[0], headers: { ...all[0].headers, date: undefined } });
    }
  }
  assert.equal(calls.set ?? 0, 0, `no header is set for an answer prepared already: ${JSON.stringify(calls)}`);
  // Answered before any routing: nothing reads the clock, which every routed request does.
  assert.equal(CLOCK.reduce((sum, method) => sum + (calls[method] ?? 0), 0), 0, `the clock was read: ${JSON.stringify(calls)}`);
});

test('a challenge prepared for one shape of request is answered to that shape only', async () => {
  // The isolate answers a request without credentials from its prepared challenge when the
  // method, body, URL and the headers the gate reads are the same. Each request below differs
  // in one of them, and its own answer is not that challenge. (node:http, which sends only the
  // headers given: fetch adds `Sec-Fetch-Mode: cors` of its own.)
  const send = (path, headers = {}, method = 'GET') =>
    new Promise((resolve, reject) => {
      http.request(`${gh.url}${path}`, { method, headers }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
      }).on('error', reject).end();
    });
  const json = { accept: 'application/json' };
  const navigate = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
  for (let i = 0; i < 3; i++) assert.equal((await send('/echo?shape=1', json)).status, 401);
  const navigation = await send('/echo?shape=1', navigate);
  assert.equal(navigation.status, 302, 'a browser navigation is sent to log in');
  assert.equal(navigation.headers.location, '/.gatehouse/login?return_to=%2Fecho%3Fshape%3D1');
  const bearer = await send('/echo?shape=1', { ...json, authorization: 'Bearer not-a-token' });
  assert.equal(bearer.status, 401);
  assert.match(bearer.headers['www-authenticate'], /error="invalid_token"/, 'a token is judged, not challenged');
  const preflight = await send('/echo?shape=1', { origin: 'https://app.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
  assert.notEqual(preflight.status, 401, 'a CORS preflight goes to the origin');
  assert.equal((await send('/echo?shape=1&access_token=x', json)).status, 400, 'a token in the URL is refused');
  const other = await send('/echo?shape=2', navigate);
  assert.equal(other.headers.location, '/.gatehouse/login?return_to=%2Fecho%3Fshape%3D2', 'another URL has its own answer');
});

test('shapes of requests anyone can vary are bounded: they never push out what every client is answered from, and a huge one is not kept', async () => {
  const document = async () => {
    const res = await fetch(`${gh.url}/.well-known/oauth-authorization-server`);
    await res.text();
    return res.status;
  };
  const challenge = async (query, headers = {}) => {
    const res = await fetch(`${gh.url}/echo?${query}`, { headers: { accept: 'application/json', ...headers } });
    await res.text();
    return res.status;
  };
  assert.equal(await document(), 200);
  // More new shapes than the isolate keeps, each challenged once.
  for (let i = 0; i < 600; i += 20) {
    const batch = await Promise.all(Array.from({ length: 20 }, (_, k) => challenge(`spray=${i + k}`)));
    assert.deepEqual(batch, Array(20).fill(401));
  }
  await probe.counts();
  assert.equal(await document(), 200);
  const kept = await probe.counts();
  assert.equal(kept.set ?? 0, 0, `the discovery document was built again after the spray: ${JSON.stringify(kept)}`);
  // A shape longer than a shape may be (here an Accept of 3000 bytes) is routed every time.
  const huge = { accept: `application/json, ${'x/y;q=0.1, '.repeat(273)}` };
  assert.equal(await challenge('huge=1', huge), 401);
  await probe.counts();
  assert.equal(await challenge('huge=1', huge), 401);
  const routed = await probe.counts();
  assert.ok(CLOCK.some((method) => (routed[method] ?? 0) > 0), `a huge shape was answered before routing: ${JSON.stringify(routed)}`);
});

test('an origin\'s framing headers never reach the client, and a response with nothing else to drop passes untouched', async () => {
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  const authorization = `Bearer ${tokens.access_token}`;
  const raw = (path) =>
    new Promise((resolve, reject) => {
      http.get(`${gh.url}${path}`, { headers: { authorization } }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.rawHeaders, body }));
      }).on('error', reject);
    });
  await raw('/framed');
  await probe.counts();
  const framed = await raw('/framed');
  const untouched = await probe.counts();
  assert.deepEqual([framed.status, framed.body], [200, 'framed']);
  const names = framed.headers.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
  assert.ok(!names.includes('keep-alive'), `the origin's Keep-Alive reached the client: ${framed.headers}`);
  assert.ok(!framed.headers.some((value) => value.includes('4321')), `${framed.headers}`);
  assert.equal(untouched[REBUILD] ?? 0, 0, `rebuilt a response with only framing to drop: ${JSON.stringify(untouched)}`);
  // A header that Connection names is the origin's to drop: that response is built again.
  const echoed = await raw('/echo');
  const rebuilt = await probe.counts();
  assert.equal(echoed.status, 200);
  assert.ok(!echoed.headers.includes('x-origin-hop'), `${echoed.headers}`);
  assert.equal(rebuilt[REBUILD], 1, `the probe sees a rebuild: ${JSON.stringify(rebuilt)}`);
});
