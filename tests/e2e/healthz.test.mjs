// GET /healthz: anyone gets a liveness answer that touches no storage (issue 15 §6: it used to
// write to D1, KV and the revocations Queue for every caller); the admin gets a deep check of D1,
// KV and the Queue binding that sends no Queue message, and writes nothing in migration mode
// (issue 16 item 3). Storage calls are counted in the Worker's isolate through the inspector
// (support/inspector.mjs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { countRuntimeCalls } from './support/inspector.mjs';

// The newest migration: the schema healthz must report once every migration is applied.
const LATEST = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort().at(-1);
const ADMIN_TOKEN = 'e2e-healthz-admin-token-e2e-healthz-admin-token';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
/**
 * D1 queries and batches, Queue messages, and KV reads and writes (the worker crate reaches KV's
 * `get` and `put` through `Function.prototype.call`, so those are counted by the callee's name).
 */
const STORAGE = ['prepare', 'batch', 'send', { label: 'kv_get', method: 'call', callee: 'get' }, { label: 'kv_put', method: 'call', callee: 'put' }];
const LABELS = STORAGE.map((spec) => spec.label ?? spec);
const storageCalls = (calls) => Object.fromEntries(LABELS.map((label) => [label, calls[label] ?? 0]));
const NONE = { prepare: 0, batch: 0, send: 0, kv_get: 0, kv_put: 0 };

async function healthz(url, headers = {}) {
  const res = await fetch(`${url}/healthz`, { headers });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('a migrated local gatehouse', () => {
  let gh;
  let probe;
  before(async () => {
    gh = await startGatehouse({ vars: { ADMIN_TOKEN } });
    probe = await countRuntimeCalls(gh.inspectorPort, STORAGE);
  });
  after(async () => {
    await probe?.stop();
    await gh?.stop();
  });

  test('anyone gets the liveness answer: fifty at once, no D1, KV or Queue call', async () => {
    await healthz(gh.url);
    await probe.counts();
    const answers = await Promise.all(Array.from({ length: 50 }, () => healthz(gh.url)));
    const calls = await probe.counts();
    for (const { status, headers, body } of answers) {
      assert.equal(status, 200);
      assert.equal(headers.get('cache-control'), 'no-store');
      assert.deepEqual(body, { ok: true, check: 'liveness', configuration: 'valid' });
    }
    assert.deepEqual(storageCalls(calls), NONE);
    // A browser's cookies that are no admin's session change nothing.
    const browser = await healthz(gh.url, { cookie: '__Host-gatehouse-session=made-up' });
    assert.deepEqual([browser.status, browser.body.check], [200, 'liveness']);
    assert.deepEqual(storageCalls(await probe.counts()), NONE);
  });

  test('the admin gets D1, KV and the Queue binding and backlog checked, and no Queue message is sent', async () => {
    await probe.counts();
    const { status, headers, body } = await healthz(gh.url, admin);
    const calls = await probe.counts();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(headers.get('cache-control'), 'no-store');
    assert.equal(body.check, 'deep');
    assert.equal(body.migration_mode, false);
    assert.ok(body.d1.detail.includes(LATEST), `${body.d1.detail} names ${LATEST}`);
    assert.deepEqual([body.ok, body.d1.ok, body.kv.ok, body.queue.ok], [true, true, true, true], JSON.stringify(body));
    assert.match(body.kv.detail, /wrote and read back/);
    assert.match(body.queue.detail, /REVOCATIONS.*no message sent.*backlog: \d+ messages/);
    assert.equal(calls.send ?? 0, 0, `the revocations Queue was used: ${JSON.stringify(calls)}`);
    assert.equal(calls.batch ?? 0, 0, `D1 was written: ${JSON.stringify(calls)}`);
    assert.deepEqual([calls.kv_put, calls.kv_get], [1, 1], `the KV probe: ${JSON.stringify(calls)}`);
  });

  test('a wrong admin token is refused with 401 and a Bearer challenge', async () => {
    const { status, headers, body } = await healthz(gh.url, { authorization: 'Bearer not-the-token' });
    assert.equal(status, 401);
    assert.match(headers.get('www-authenticate'), /^Bearer realm="gatehouse-admin"/);
    assert.equal(body.error, 'invalid_token');
  });

  // Every other path belongs to the protected app (the gatekeeper suites); only gatehouse's
  // own namespaces answer 404 for what they do not serve.
  test("answers unknown paths in gatehouse's namespaces with 404 JSON", async () => {
    for (const path of ['/oauth/nope', '/.gatehouse/nope', '/.well-known/nope']) {
      const res = await fetch(`${gh.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      // Issue 19: a registered code (RFC 6749 §5.2), not the made-up `not_found`.
      assert.deepEqual(await res.json(), { error: 'invalid_request', error_description: 'no such endpoint' });
    }
  });

  test('serves /healthz to GET only', async () => {
    const res = await fetch(`${gh.url}/healthz`, { method: 'POST' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
  });
});

describe('a gatehouse whose database was never migrated', () => {
  let gh;
  before(async () => (gh = await startGatehouse({ migrate: false, vars: { ADMIN_TOKEN } })));
  after(() => gh?.stop());

  test('the deep check reports unhealthy with 503 and names the fix; liveness is still 200', async () => {
    const { status, body } = await healthz(gh.url, admin);
    assert.equal(status, 503);
    assert.equal(body.ok, false);
    assert.equal(body.d1.ok, false);
    assert.match(body.d1.detail, /wrangler d1 migrations apply DB/);
    assert.equal(body.kv.ok, true);
    assert.equal((await healthz(gh.url)).status, 200);
  });
});

describe('a gatehouse in migration mode', () => {
  let gh;
  let probe;
  before(async () => {
    gh = await startGatehouse({ vars: { ADMIN_TOKEN, MIGRATION_MODE: 'on' } });
    probe = await countRuntimeCalls(gh.inspectorPort, STORAGE);
  });
  after(async () => {
    await probe?.stop();
    await gh?.stop();
  });

  test('the deep check reads D1 and KV and writes nothing', async () => {
    await probe.counts();
    const { status, body } = await healthz(gh.url, admin);
    const calls = await probe.counts();
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.migration_mode, true);
    assert.match(body.kv.detail, /nothing written/);
    assert.deepEqual(storageCalls(calls), { ...NONE, prepare: 1, kv_get: 1 }, 'one D1 read (the schema), one KV read, no write');
    assert.deepEqual(await gh.query('SELECT COUNT(*) AS n FROM health_probes'), [{ n: 0 }]);
  });
});

describe('a misconfigured gatehouse', () => {
  let gh;
  before(async () => (gh = await startGatehouse({ vars: { APPS: 'not json' } })));
  after(() => gh?.stop());

  // The public learns that the configuration is invalid and a reference; the setting and the
  // fix are in the log under that reference only (issue 18: never shown to the public).
  test('liveness answers 503 with a reference to the log line naming the setting, with or without cookies', async () => {
    for (const headers of [{}, { cookie: 'a=b' }]) {
      const { status, body } = await healthz(gh.url, headers);
      assert.equal(status, 503, JSON.stringify(headers));
      assert.equal(body.ok, false);
      assert.equal(body.check, 'liveness');
      assert.equal(body.configuration, 'invalid');
      assert.ok(!JSON.stringify(body).includes('APPS'), JSON.stringify(body));
      const line = await gh.logLine(body.reference);
      assert.ok(line, `no log line for ${body.reference}`);
      assert.match(line, /"setting":"APPS"/);
    }
  });
});
