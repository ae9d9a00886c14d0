// D1 read replication (issue 20): the reads a replica may answer go through a D1 session opened
// with `first-unconstrained` (the Sessions API), a replica's miss is read again through a
// `first-primary` session, and what decides a token stays on the primary (docs/storage.md, "Read
// replicas"). Counted in the Worker's isolate by the benchmark's storage shim
// (bench/storage-shim.mjs), which forwards `withSession` and counts sessions and their queries by
// constraint. Local D1 has no replicas; with `BENCH_REPLICA_LAG=1` the shim makes every
// `first-unconstrained` session answer as a replica that has seen no write yet.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { gatehouseConfig } from '../../bench/storage.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { authorizeUrl, b64url, pkce, register, tokenRequest, tokensFor, REDIRECT } from './support/oauth.mjs';

const APPS = JSON.stringify([{ name: 'Files', host: '*', scopes: { read: 'Read files' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: 'http://127.0.0.1:9' }]);
let copy;
before(async () => {
  copy = await gatehouseConfig();
});
after(async () => {
  if (copy) await rm(copy.dir, { recursive: true, force: true });
});

/** A gatehouse behind the shim, with `vars`; `run(gh, counts)` then stops it. */
async function withGatehouse(vars, run) {
  const gh = await startGatehouse({ config: copy.config, vars: { APPS, BENCH_D1_DELAY_MS: '0', BENCH_KV_DELAY_MS: '0', ...vars } });
  try {
    const counts = async () => (await fetch(`${gh.url}/__bench/storage`)).json();
    await run(gh, counts);
  } finally {
    await gh.stop();
  }
}

const queries = (c, kind) => c.sessionQueries?.[kind] ?? 0;

test('an isolate\'s signing-key read and an authorization request\'s client read go through a first-unconstrained session; client authentication does not', async () => {
  await withGatehouse({}, async (gh, counts) => {
    const client = await register(gh.url);
    await counts();
    // The isolate's first use of the signing keys: the JWKS.
    const jwks = await fetch(`${gh.url}/oauth/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.ok((await jwks.json()).keys.length >= 1);
    const keys = await counts();
    assert.ok(queries(keys, 'first-unconstrained') >= 1, `the keys were read through a first-unconstrained session: ${JSON.stringify(keys)}`);

    const { challenge } = pkce();
    const page = await fetch(authorizeUrl(gh.url, client, { challenge }), { headers: { accept: 'text/html' } });
    await page.text();
    assert.ok(page.status < 500, `authorize answered ${page.status}`);
    const authorize = await counts();
    assert.equal(queries(authorize, 'first-unconstrained'), 1, `the client was read through a first-unconstrained session: ${JSON.stringify(authorize)}`);
    assert.equal(queries(authorize, 'first-primary'), 0, 'the replica found it: no second read');
    assert.equal(authorize.before.d1Calls, 1, `one D1 call, as before sessions: ${JSON.stringify(authorize.before)}`);

    // The token endpoint authenticates the client on the primary: a client disabled a moment
    // ago must not get tokens because a replica has not seen the disable yet.
    const { client: other, tokens } = await tokensFor(gh.url, { scope: 'read' });
    await counts();
    const refreshed = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: other.client_id });
    assert.equal(refreshed.status, 200);
    const token = await counts();
    assert.equal(queries(token, 'first-unconstrained'), 0, `no token-endpoint read goes to a replica: ${JSON.stringify(token)}`);
  });
});

test('with a replica that has seen no write, a client registered a moment ago still works at once: its miss is read again on the primary', async () => {
  await withGatehouse({ BENCH_REPLICA_LAG: '1' }, async (gh, counts) => {
    await counts();
    const { client, tokens } = await tokensFor(gh.url, { scope: 'read' });
    assert.ok(tokens.access_token, 'the whole flow ran');
    const c = await counts();
    assert.ok(queries(c, 'first-unconstrained') >= 2, `the keys and the client were asked of the replica: ${JSON.stringify(c)}`);
    assert.ok(queries(c, 'first-primary') >= 2, `and, missing there, of the primary: ${JSON.stringify(c)}`);
    // The key made on the primary is published, though the replica has none.
    const jwks = await (await fetch(`${gh.url}/oauth/jwks.json`)).json();
    const kid = JSON.parse(Buffer.from(tokens.access_token.split('.')[0], 'base64url')).kid;
    assert.ok(jwks.keys.some((k) => k.kid === kid), 'the signing key is in the JWKS');
    // One signing key, not one per read that missed.
    const rows = await gh.query("SELECT COUNT(*) AS n FROM signing_keys WHERE algorithm = 'ES256'");
    assert.equal(rows[0].n, 1);
    const again = await fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge, redirect: REDIRECT }), { headers: { accept: 'text/html' } });
    await again.text();
    assert.ok(again.status < 400, `the client is found: ${again.status}`);
  });
});

test('with a replica that has seen no write, a new isolate finds the signing key on the primary instead of making another', async () => {
  const vars = { APPS, BENCH_D1_DELAY_MS: '0', BENCH_KV_DELAY_MS: '0', BENCH_REPLICA_LAG: '1' };
  let gh = await startGatehouse({ config: copy.config, vars });
  try {
    const { tokens } = await tokensFor(gh.url, { scope: 'read' });
    const kid = JSON.parse(Buffer.from(tokens.access_token.split('.')[0], 'base64url')).kid;
    // A new deployment on the same database: a new isolate, whose first key read meets the
    // lagging replica.
    gh = await startGatehouse({ config: copy.config, vars, restart: await gh.crash() });
    const jwks = await (await fetch(`${gh.url}/oauth/jwks.json`)).json();
    assert.deepEqual(jwks.keys.map((k) => k.kid), [kid], 'the key the primary holds, and no new one');
    const rows = await gh.query("SELECT COUNT(*) AS n FROM signing_keys WHERE algorithm = 'ES256'");
    assert.equal(rows[0].n, 1);
  } finally {
    await gh.stop();
  }
});

test('keys an isolate read from a replica: twenty forged key ids at once make one read on the primary, not twenty', async () => {
  // Each D1 call waits 300 ms, as a distant primary would: the twenty requests all arrive while
  // the first one's read is under way.
  const vars = { APPS, BENCH_D1_DELAY_MS: '300', BENCH_KV_DELAY_MS: '0' };
  let gh = await startGatehouse({ config: copy.config, vars });
  try {
    await tokensFor(gh.url, { scope: 'read' });
    // A new isolate on the same database reads the keys through a first-unconstrained session.
    gh = await startGatehouse({ config: copy.config, vars, restart: await gh.crash() });
    const counts = async () => (await fetch(`${gh.url}/__bench/storage`)).json();
    assert.equal((await fetch(`${gh.url}/oauth/jwks.json`)).status, 200);
    const read = await counts();
    assert.equal(queries(read, 'first-unconstrained'), 1, JSON.stringify(read));
    assert.equal(queries(read, 'first-primary'), 0, 'the replica had a key that may sign');

    const part = (json) => b64url(JSON.stringify(json));
    const claims = part({ iss: gh.url, aud: gh.url, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 });
    const forged = () => `${part({ alg: 'ES256', typ: 'at+jwt', kid: `k_${randomBytes(8).toString('hex')}` })}.${claims}.${b64url(randomBytes(64))}`;
    const started = Date.now();
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const res = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${forged()}` } });
      await res.text();
      return res.status;
    }));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    assert.deepEqual(statuses, Array(20).fill(401));
    const c = await counts();
    // Keys read from a replica may lack a key made a moment ago, so an unknown kid is read again
    // on the primary at once, by one request; then at most once a second, as always.
    assert.ok(queries(c, 'first-primary') >= 1, `the unknown kid was looked up on the primary: ${JSON.stringify(c.sessionQueries)}`);
    assert.ok(queries(c, 'first-primary') <= seconds + 1, `primary reads for 20 forged tokens in ${seconds} s: ${JSON.stringify(c.sessionQueries)}`);
    assert.equal(c.before.d1Calls, queries(c, 'first-primary'), 'no other D1 call');
  } finally {
    await gh.stop();
  }
});
