// D1 read replication (issue 20): the reads a replica may answer go through a D1 session opened
// with `first-unconstrained` (the Sessions API), a replica's miss is read again through a
// `first-primary` session, and what decides a token stays on the primary (docs/storage.md, "Read
// replicas"). Counted in the Worker's isolate by the benchmark's storage shim
// (bench/storage-shim.mjs), which forwards `withSession` and counts sessions and their queries by
// constraint. Local D1 has no replicas; with `BENCH_REPLICA_LAG=1` the shim makes every
// `first-unconstrained` session answer as a replica that has seen no write yet.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { gatehouseConfig } from '../../bench/storage.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { authorizeUrl, pkce, register, tokenRequest, tokensFor, REDIRECT } from './support/oauth.mjs';

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
