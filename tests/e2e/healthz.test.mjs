// GET /healthz: a real round trip to D1, KV and the revocations Queue (producer and consumer).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';

// The newest migration: the schema healthz must report once every migration is applied.
const LATEST = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort().at(-1);

describe('a migrated local gatehouse', () => {
  let gh;
  before(async () => (gh = await startGatehouse()));
  after(() => gh?.stop());

  test('reports D1, KV and the Queue healthy', async () => {
    const res = await fetch(`${gh.url}/healthz`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(body.ok, true);
    assert.ok(body.d1.detail.includes(LATEST), `${body.d1.detail} names ${LATEST}`);
    assert.deepEqual(
      [body.d1.ok, body.kv.ok, body.queue.ok],
      [true, true, true],
      JSON.stringify(body),
    );
    assert.match(body.queue.detail, /consumed/);
  });

  // Every other path belongs to the protected app (the gatekeeper suites); only gatehouse's
  // own namespaces answer 404 for what they do not serve.
  test("answers unknown paths in gatehouse's namespaces with 404 JSON", async () => {
    for (const path of ['/oauth/nope', '/.gatehouse/nope', '/.well-known/nope']) {
      const res = await fetch(`${gh.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      assert.equal((await res.json()).error, 'not_found');
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
  before(async () => (gh = await startGatehouse({ migrate: false })));
  after(() => gh?.stop());

  test('reports unhealthy with 503 and names the fix', async () => {
    const res = await fetch(`${gh.url}/healthz`);
    const body = await res.json();
    assert.equal(res.status, 503);
    assert.equal(body.ok, false);
    assert.equal(body.d1.ok, false);
    assert.match(body.d1.detail, /wrangler d1 migrations apply DB/);
    assert.equal(body.kv.ok, true);
  });
});
