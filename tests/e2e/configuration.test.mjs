// The operator's configuration as the Worker reads it: a mistake answers the public with a
// generic 503 and a reference, the detail goes to the log only; APPS written as a TOML array in
// wrangler.toml's [vars] configures the same as the JSON string.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';

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
      const line = gh
        .log()
        .split('\n')
        .find((l) => l.includes(body.reference));
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
