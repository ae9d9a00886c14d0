// An app whose origin is another Worker, reached through a service binding (`"origin":
// "service:NAME"`): gatehouse's own wrangler.toml plus a [[services]] binding, and the origin
// Worker beside it in the same wrangler dev.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { DEMO, tokensFor } from './support/oauth.mjs';

const CONFIG = join(ROOT, '.wrangler-e2e-service-binding.toml');
let gh;
before(async () => {
  const base = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  await writeFile(CONFIG, `${base}\n[[services]]\nbinding = "E2E_ORIGIN"\nservice = "gatehouse-e2e-origin"\n`);
  const apps = [{
    name: 'Bound', host: '*', scopes: { read: 'Read' }, default_scopes: ['read'],
    policy: { allow_domains: ['example.com'] }, origin: 'service:E2E_ORIGIN',
  }];
  gh = await startGatehouse({ config: [CONFIG, join(ROOT, 'tests/e2e/service-origin/wrangler.toml')], vars: { APPS: JSON.stringify(apps) } });
});
after(async () => {
  await gh?.stop();
  await rm(CONFIG, { force: true });
});

test('requests reach the bound Worker with the identity and without the token', async () => {
  assert.equal((await fetch(`${gh.url}/notes`)).status, 401);
  const { client, tokens } = await tokensFor(gh.url);
  const res = await fetch(`${gh.url}/notes`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(res.status, 200);
  const seen = await res.json();
  assert.equal(seen.via, 'service binding');
  assert.equal(seen.path, '/notes');
  assert.equal(seen.headers['gatehouse-email'], DEMO.email);
  assert.equal(seen.headers['gatehouse-client-id'], client.client_id);
  assert.ok(seen.headers['gatehouse-assertion']);
  assert.equal(seen.headers.authorization, undefined);
});
