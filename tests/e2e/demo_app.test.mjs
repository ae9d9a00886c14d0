// The built-in demo app of local development: `make dev` protects it, so an agent pointed at
// http://127.0.0.1:8787/ can run the whole flow offline and see what an origin receives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, personAt, tokensFor } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

test('an agent reads /api/whoami and writes /api/notes as the person', async () => {
  const res = await fetch(`${gh.url}/api/whoami`);
  assert.equal(res.status, 401);
  const { client, tokens } = await tokensFor(gh.url, { scope: 'read write' });
  const whoami = await (await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
  assert.equal(whoami['gatehouse-email'], DEMO.email);
  assert.equal(whoami['gatehouse-client-id'], client.client_id);
  assert.ok(whoami['gatehouse-assertion']);
  const note = await fetch(`${gh.url}/api/notes`, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` }, body: 'hello' });
  assert.equal(note.status, 201);
  assert.equal((await note.json()).saved, 'hello');
});

test('a person sees the demo page after logging in', async () => {
  const browser = new Browser(gh.url);
  const nav = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } };
  const first = await browser.fetch('/', nav);
  assert.equal(first.status, 302);
  await personAt(gh.url, new URL(first.headers.get('location'), gh.url), {}, browser);
  const page = await browser.fetch('/', nav);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Demo app/);
  assert.match(html, /alice@example\.com/);
  assert.match(html, /Log out/);
});

test('without ADMIN_TOKEN the admin API does not exist', async () => {
  const res = await fetch(`${gh.url}/.gatehouse/admin/grants?subject=x`, { headers: { authorization: 'Bearer anything-anything-anything-anything' } });
  assert.equal(res.status, 404);
});
