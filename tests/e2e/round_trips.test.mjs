// Storage round trips per operation (issue 20), counted in the Worker's isolate by the
// benchmark's storage shim (bench/storage-shim.mjs: the Worker's D1, KV and Queue bindings
// wrapped in a copy of its entry, nothing in gatehouse's code). The budgets met today are held
// here: discovery, the 401 and an authenticated request with a cached token make no storage
// call; a registration, a code exchange and a refresh make one, also when the isolate has not
// authenticated the client for more than 5 s. The shim's delay mode is checked too, since bench/storage.mjs
// reports latency under it.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { gatehouseConfig } from '../../bench/storage.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { startOrigin } from './support/origin.mjs';
import { authorizeAsPerson, codeExchange, pkce, register, tokenRequest, tokensFor } from './support/oauth.mjs';

const D1_DELAY_MS = 40;
let VARS;
let gh;
let origin;
let copy;
before(async () => {
  origin = await startOrigin();
  copy = await gatehouseConfig();
  const apps = [{ name: 'Files', host: '*', scopes: { read: 'Read files' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: origin.url }];
  VARS = { APPS: JSON.stringify(apps), BENCH_D1_DELAY_MS: String(D1_DELAY_MS), BENCH_KV_DELAY_MS: '0' };
  gh = await startGatehouse({ config: copy.config, vars: VARS });
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
  if (copy) await rm(copy.dir, { recursive: true, force: true });
});

/** The shim's totals since the previous call. */
const counts = async () => (await fetch(`${gh.url}/__bench/storage`)).json();

/** Runs `send` `times` times, one after another; the storage calls they made. */
async function measured(times, send) {
  await counts();
  for (let i = 0; i < times; i++) await send(i);
  await new Promise((resolve) => setTimeout(resolve, 500)); // work after the response
  return counts();
}

test('discovery and the 401 make no storage call', async () => {
  const c = await measured(5, async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/oauth-protected-resource', '/echo']) {
      const res = await fetch(`${gh.url}${path}`, { headers: { accept: 'application/json' } });
      await res.text();
    }
  });
  assert.equal(c.requests, 15);
  assert.equal(c.before.roundTrips + c.after.roundTrips, 0, JSON.stringify(c));
});

test('an authenticated request with a cached token makes no storage call', async () => {
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  const get = async () => {
    const res = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    await res.text();
    assert.equal(res.status, 200);
  };
  await get();
  const c = await measured(10, get);
  assert.equal(c.requests, 10);
  assert.equal(c.before.roundTrips + c.after.roundTrips, 0, JSON.stringify(c));
});

test('a registration is one storage round trip, and the shim delays it as production storage would', async () => {
  let slowest = 0;
  const c = await measured(3, async () => {
    const started = performance.now();
    await register(gh.url);
    slowest = Math.max(slowest, performance.now() - started);
  });
  assert.equal(c.requests, 3);
  assert.equal(c.maxBefore, 1, JSON.stringify(c));
  assert.equal(c.after.roundTrips, 0);
  assert.ok(c.before.rowsWritten >= 6, `the client and its audit row, with their indexes: ${JSON.stringify(c.before)}`);
  assert.ok(slowest >= D1_DELAY_MS, `a registration waited ${slowest} ms for its D1 round trip`);
});

test('a refresh is one storage round trip: its batch with the KV reads alongside', async () => {
  const { client, tokens } = await tokensFor(gh.url, { scope: 'read' });
  let refreshToken = tokens.refresh_token;
  const c = await measured(3, async () => {
    const res = await fetch(`${gh.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id }),
    });
    assert.equal(res.status, 200);
    refreshToken = (await res.json()).refresh_token;
  });
  assert.equal(c.requests, 3);
  assert.equal(c.maxBefore, 1, JSON.stringify(c));
  assert.equal(c.before.roundTrips, 3, JSON.stringify(c));
  assert.equal(c.before.d1Calls, 3, `one batch each: ${JSON.stringify(c.before)}`);
  assert.ok(c.before.kvReads >= 3, `the denylist read went out with the batch: ${JSON.stringify(c.before)}`);
  assert.equal(c.after.roundTrips, 0);
});

/** Registers a client_secret_post client and runs the flow; the client and its tokens. */
async function postClientTokens() {
  const client = await register(gh.url, { token_endpoint_auth_method: 'client_secret_post' });
  const { verifier, challenge } = pkce();
  const location = await authorizeAsPerson(gh.url, client, { scope: 'read', challenge });
  const res = await tokenRequest(gh.url, codeExchange(client, location.searchParams.get('code'), verifier, { client_secret: client.client_secret }));
  assert.equal(res.status, 200);
  return { client, tokens: await res.json() };
}

test('a refresh by a client the isolate has not authenticated for more than 5 s is one storage round trip; a refused one writes nothing', async () => {
  // An agent refreshes every ten minutes: the isolate's client cache (5 s) is cold by then.
  const pub = await tokensFor(gh.url, { scope: 'read' });
  const secret = await postClientTokens();
  const refusedClient = await postClientTokens();
  await new Promise((resolve) => setTimeout(resolve, 6000));
  // Refused by the batch's conditions as by client authentication: only the id (the method
  // `none`, which it did not register), then a wrong secret.
  const { client: victim, tokens: victimTokens } = refusedClient;
  for (const credentials of [{}, { client_secret: 'not-the-secret' }]) {
    const refused = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: victimTokens.refresh_token, client_id: victim.client_id, ...credentials });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'invalid_client');
  }
  for (const [kind, { client, tokens }] of [['public', pub], ['client_secret_post', secret]]) {
    const c = await measured(1, async () => {
      const res = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id, ...(client.client_secret ? { client_secret: client.client_secret } : {}) });
      assert.equal(res.status, 200, kind);
      assert.ok((await res.json()).refresh_token);
    });
    assert.equal(c.requests, 1);
    assert.equal(c.maxBefore, 1, `${kind}: ${JSON.stringify(c)}`);
    assert.equal(c.before.roundTrips, 1, `${kind}: ${JSON.stringify(c)}`);
    assert.equal(c.before.d1Calls, 1, `${kind}: one batch: ${JSON.stringify(c.before)}`);
    assert.equal(c.after.roundTrips, 0);
  }
  // The refused requests rotated nothing: past the retry window, the owner's refresh of the
  // same token succeeds (a rotated token would be reuse, and revoke the grant).
  await new Promise((resolve) => setTimeout(resolve, 11000));
  const owner = await tokenRequest(gh.url, {
    grant_type: 'refresh_token',
    refresh_token: victimTokens.refresh_token,
    client_id: victim.client_id,
    client_secret: victim.client_secret,
  });
  assert.equal(owner.status, 200, await owner.clone().text());
  await owner.text();
});

test("an isolate's first code exchange is one storage round trip: the signing key is read alongside the batch", async () => {
  // A fresh isolate on the same state: nothing it holds yet, the signing keys included.
  gh = await startGatehouse({ config: copy.config, restart: await gh.crash(), vars: VARS });
  const client = await register(gh.url);
  const { verifier, challenge } = pkce();
  const location = await authorizeAsPerson(gh.url, client, { scope: 'read', challenge });
  const c = await measured(1, async () => {
    const res = await tokenRequest(gh.url, codeExchange(client, location.searchParams.get('code'), verifier));
    assert.equal(res.status, 200);
    assert.ok((await res.json()).access_token);
  });
  assert.equal(c.requests, 1);
  assert.equal(c.maxBefore, 1, JSON.stringify(c));
  assert.equal(c.before.roundTrips, 1, JSON.stringify(c));
  assert.ok(c.before.d1Calls >= 2, `the keys were read (not held from before): ${JSON.stringify(c.before)}`);
});

test('a code exchange is one storage round trip, also by a client the isolate has not authenticated for more than 5 s; a refused one spends nothing', async () => {
  // One exchange first, so that the isolate holds its signing key (an isolate's first token
  // reads it from D1).
  await tokensFor(gh.url, { scope: 'read' });
  // An agent's first exchange follows its registration and the person's consent, which take
  // longer than the isolate's client cache (5 s) keeps a client; and the authorization requests
  // read the client from a replica, which the cache does not keep.
  const clients = {
    public: await register(gh.url),
    client_secret_post: await register(gh.url, { token_endpoint_auth_method: 'client_secret_post' }),
    'no refresh grant': await register(gh.url, { grant_types: ['authorization_code'] }),
    victim: await register(gh.url, { token_endpoint_auth_method: 'client_secret_post' }),
  };
  const codes = {};
  for (const [kind, client] of Object.entries(clients)) {
    const { verifier, challenge } = pkce();
    const location = await authorizeAsPerson(gh.url, client, { scope: 'read', challenge });
    codes[kind] = { code: location.searchParams.get('code'), verifier };
  }
  await new Promise((resolve) => setTimeout(resolve, 6000));
  const exchange = (kind, credentials) =>
    tokenRequest(gh.url, codeExchange(clients[kind], codes[kind].code, codes[kind].verifier, credentials));
  for (const kind of ['public', 'client_secret_post', 'no refresh grant']) {
    const client = clients[kind];
    const c = await measured(1, async () => {
      const res = await exchange(kind, client.client_secret ? { client_secret: client.client_secret } : {});
      assert.equal(res.status, 200, kind);
      const tokens = await res.json();
      assert.ok(tokens.access_token, kind);
      assert.equal(Boolean(tokens.refresh_token), kind !== 'no refresh grant', kind);
    });
    assert.equal(c.requests, 1);
    assert.equal(c.maxBefore, 1, `${kind}: ${JSON.stringify(c)}`);
    assert.equal(c.before.roundTrips, 1, `${kind}: ${JSON.stringify(c)}`);
    assert.equal(c.before.d1Calls, 1, `${kind}: one batch: ${JSON.stringify(c.before)}`);
    assert.ok(c.before.kvReads >= 1, `${kind}: the denylist read went out with the batch: ${JSON.stringify(c.before)}`);
    assert.equal(c.after.roundTrips, 0);
  }
  // Refused by the batch's conditions as by client authentication: only the id (the method
  // `none`, which it did not register), then a wrong secret. The code is left unspent: its
  // client's own exchange then succeeds (a spent code would be a replay, and revoke the grant).
  for (const credentials of [{}, { client_secret: 'not-the-secret' }]) {
    const refused = await exchange('victim', credentials);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'invalid_client');
  }
  const owner = await exchange('victim', { client_secret: clients.victim.client_secret });
  assert.equal(owner.status, 200, await owner.clone().text());
  assert.ok((await owner.json()).refresh_token);
});

test('a refresh-token revocation is one storage round trip before the answer, also by a client the isolate has not authenticated for more than 5 s; the deny entry and the settled mark follow it', async () => {
  const totals = { requests: 0, maxBefore: 0, before: 0, beforeD1: 0, beforeKvWrites: 0, beforeQueue: 0, after: 0, afterKvWrites: 0, afterD1: 0 };
  const revoked = [];
  const agents = [];
  for (let i = 0; i < 3; i++) agents.push(await tokensFor(gh.url, { scope: 'read' }));
  const victim = await postClientTokens();
  // An agent revokes its token when its work ends, long after the isolate last authenticated
  // it: the client cache (5 s) is cold.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  // Refused by the batch's conditions as by client authentication: only the id (the method
  // `none`, which it did not register), then a wrong secret. Nothing is revoked.
  for (const credentials of [{}, { client_secret: 'not-the-secret' }]) {
    const refused = await fetch(`${gh.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: victim.tokens.refresh_token, client_id: victim.client.client_id, ...credentials }),
    });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'invalid_client');
  }
  const unharmed = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${victim.tokens.access_token}` } });
  assert.equal(unharmed.status, 200, 'a refused revocation revoked nothing');
  await unharmed.text();
  for (const { client, tokens } of agents) {
    const c = await measured(1, async () => {
      const res = await fetch(`${gh.url}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: client.client_id }),
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '');
    });
    totals.requests += c.requests;
    totals.maxBefore = Math.max(totals.maxBefore, c.maxBefore);
    totals.before += c.before.roundTrips;
    totals.beforeD1 += c.before.d1Calls;
    totals.beforeKvWrites += c.before.kvWrites;
    totals.beforeQueue += c.before.queueMessages;
    totals.after += c.after.roundTrips;
    totals.afterKvWrites += c.after.kvWrites;
    totals.afterD1 += c.after.d1Calls;
    revoked.push({ client, tokens });
  }
  const all = JSON.stringify(totals);
  assert.equal(totals.requests, 3);
  assert.equal(totals.maxBefore, 1, all);
  assert.equal(totals.before, 3, all);
  assert.equal(totals.beforeD1, 3, `one batch each: ${all}`);
  assert.equal(totals.beforeKvWrites + totals.beforeQueue, 0, `no deny entry, no Queue message before the answer: ${all}`);
  assert.equal(totals.afterKvWrites, 3, `the deny entry after it: ${all}`);
  assert.equal(totals.afterD1, 3, `the settled mark after it: ${all}`);
  assert.equal(totals.after, 6, `deny entry, then settle, one after the other: ${all}`);
  for (const { client, tokens } of revoked) {
    const gated = await fetch(`${gh.url}/echo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(gated.status, 401, 'the gate refuses the access token');
    await gated.text();
    const refreshed = await fetch(`${gh.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id }),
    });
    assert.equal((await refreshed.json()).error, 'invalid_grant');
  }
});
