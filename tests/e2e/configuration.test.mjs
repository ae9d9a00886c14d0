// The operator's configuration as the Worker reads it: a mistake answers the public with a
// generic 503 and a reference, the detail goes to the log only; APPS written as a TOML array in
// wrangler.toml's [vars] configures the same as the JSON string; an identity provider's refused
// discovery document is not kept, so fixing it takes effect within seconds.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, freePort, startGatehouse } from './support/gatehouse.mjs';
import { IDP_CLIENT, startIdp } from './support/idp.mjs';
import { Browser, hiddenFields } from './support/oauth.mjs';

describe('a gatehouse whose APPS has a mistake', () => {
  let gh;
  const bad = JSON.stringify([
    { name: 'Wiki', host: '*', scopes: { read: 'Read' }, policy: { allow_domains: ['example.com'] }, colour: 'blue' },
  ]);
  before(async () => (gh = await startGatehouse({ vars: { APPS: bad } })));
  after(() => gh?.stop());

  test('answers every visitor 503 with a reference, and only the log says what is wrong', async () => {
    for (const [path, headers] of [
      ['/', { accept: 'text/html' }],
      ['/api/whoami', {}],
      ['/oauth/token', {}],
      ['/.well-known/oauth-authorization-server', {}],
    ]) {
      const res = await fetch(`${gh.url}${path}`, { headers });
      const text = await res.text();
      assert.equal(res.status, 503, `${path}: ${text}`);
      assert.equal(res.headers.get('retry-after'), '60', path);
      const body = JSON.parse(text);
      assert.equal(body.error, 'temporarily_unavailable', path);
      assert.match(body.reference, /^[0-9a-f]{16}$/, path);
      // Nothing of the configuration reaches the public: not the setting, not the field.
      for (const secret of ['APPS', 'colour', 'unknown field', 'Fix']) {
        assert.ok(!text.includes(secret), `${path} leaks ${secret}: ${text}`);
      }
      // The operator finds the detail in the log under the same reference.
      const line = await gh.logLine(body.reference);
      assert.ok(line, `no log line for ${body.reference}`);
      assert.match(line, /"setting":"APPS"/);
      assert.match(line, /colour/);
    }
  });
});

describe('APPS written as a TOML array in wrangler.toml', () => {
  let gh;
  let dir;
  before(async () => {
    // A wrangler.toml of its own, in a directory without .dev.vars (whose APPS string would
    // take precedence over [vars]), pointing at the repository's build and migrations.
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-toml-apps-'));
    const shipped = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
    const config = shipped
      .replace('main = "build/index.js"', `main = ${JSON.stringify(join(ROOT, 'build/index.js'))}`)
      .replace('migrations_dir = "migrations"', `migrations_dir = ${JSON.stringify(join(ROOT, 'migrations'))}`)
      .concat(`
[vars]
GATEHOUSE_SECRET = "local-development-only-not-a-secret-0123456789"
APPS = [
  { name = "Toml app", host = "*", scopes = { read = "Read", write = "Write" }, default_scopes = ["read"], policy = { allow_domains = ["example.com"] }, routes = [
    { methods = ["POST"], path = "/api/**", scope = "write" },
  ] },
]
`);
    const path = join(dir, 'wrangler.toml');
    await writeFile(path, config);
    gh = await startGatehouse({ config: path });
  });
  after(async () => {
    await gh?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('configures the app as the JSON string would', async () => {
    const res = await fetch(`${gh.url}/.well-known/oauth-protected-resource`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual((await res.json()).scopes_supported.sort(), ['read', 'write']);
    const challenge = await fetch(`${gh.url}/api/notes`, { method: 'POST' });
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers.get('www-authenticate'), /scope="write"/);
  });
});

describe('an identity provider whose discovery document names another issuer, then is fixed', () => {
  let gh;
  let idp;
  let proxy;
  let broken = true;
  let fetches = 0;
  before(async () => {
    idp = await startIdp({ users: {} });
    // The provider as gatehouse reaches it: the real provider's discovery document, whose
    // issuer is wrong until the provider's operator fixes it.
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    proxy = http.createServer(async (req, res) => {
      fetches++;
      const doc = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
      doc.issuer = broken ? 'http://wrong-issuer.example' : issuer;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    const providers = [{
      id: 'corp', name: 'Corp SSO', issuer, client_id: IDP_CLIENT.id, public_client: true,
      allow_insecure_loopback_issuer: true,
    }];
    gh = await startGatehouse({ vars: { OIDC_PROVIDERS: JSON.stringify(providers) } });
  });
  after(async () => {
    await gh?.stop();
    await idp?.stop();
    proxy?.close();
  });

  /** Presses the provider's button on a fresh login page. */
  async function pressCorp() {
    const browser = new Browser(gh.url);
    const page = await (await browser.fetch('/.gatehouse/login?return_to=%2F')).text();
    const form = [...page.matchAll(/<form method="post" action="([^"]+)">(.*?)<\/form>/g)]
      .find(([, , inner]) => inner.includes('name="provider" value="corp"'));
    assert.ok(form, page);
    return browser.fetch(form[1], {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(hiddenFields(form[0])),
    });
  }

  test('the refused document is not kept: the fixed one is used within seconds', async () => {
    const refused = await pressCorp();
    assert.equal(refused.status, 503);
    assert.match(await refused.text(), /cannot be reached/);
    assert.equal(fetches, 1);
    // Logins in the next seconds do not fetch it again (a failing provider is not hammered).
    assert.equal((await pressCorp()).status, 503);
    assert.equal(fetches, 1);
    assert.ok(await gh.logLine('IssuerMismatch'), 'the log names the reason');
    broken = false;
    await new Promise((resolve) => setTimeout(resolve, 5500));
    const fixed = await pressCorp();
    assert.equal(fixed.status, 303, await fixed.clone().text());
    assert.equal(new URL(fixed.headers.get('location')).origin, idp.issuer);
    assert.equal(fetches, 2);
  });
});
