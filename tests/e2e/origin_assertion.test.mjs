// Locking the origin to gatehouse (README "Locking the origin to gatehouse"): the examples in
// examples/origin/ (Node with jose, Python with PyJWT, Go with its standard library), each run as
// a real origin process behind gatehouse, accept the request gatehouse proxies with its
// Gatehouse-Assertion, and refuse a request without one or with an assertion signed by another key.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { ROOT, freePort, startGatehouse } from './support/gatehouse.mjs';
import { DEMO, tokensFor } from './support/oauth.mjs';

const EXAMPLES = join(ROOT, 'examples', 'origin');
const build = mkdtempSync(join(tmpdir(), 'gatehouse-origin-go-'));
const LANGUAGES = {
  node: () => [process.execPath, [join(EXAMPLES, 'verify.mjs')]],
  python: () => [join(ROOT, '.venv', 'bin', 'python'), [join(EXAMPLES, 'verify.py')]],
  go: () => {
    const binary = join(build, 'verify');
    const built = spawnSync('go', ['build', '-o', binary, join(EXAMPLES, 'verify.go')], {
      env: { ...process.env, GOCACHE: join(build, 'cache'), GO111MODULE: 'off' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`);
    return [binary, []];
  },
};

let gh;
const origins = {};

/** Waits until the origin at `url` answers at all (its 401 to a bare request). */
async function answering(url, child) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the origin exited with ${child.exitCode}`);
    try {
      return await fetch(url);
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url}: the origin did not answer`);
}

before(async () => {
  for (const language of Object.keys(LANGUAGES)) origins[language] = { port: await freePort() };
  const policy = { allow_domains: ['example.com'] };
  const apps = Object.entries(origins).map(([language, { port }]) => ({
    name: language, host: '*', path_prefix: `/${language}`, scopes: { read: 'Read' }, default_scopes: ['read'], policy,
    origin: `http://127.0.0.1:${port}`,
  }));
  gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
  for (const [language, origin] of Object.entries(origins)) {
    const [command, args] = LANGUAGES[language]();
    origin.app = `${gh.url}/${language}`;
    origin.child = spawn(command, args, {
      env: { ...process.env, GATEHOUSE_APP: origin.app, PORT: String(origin.port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    origin.url = `http://127.0.0.1:${origin.port}`;
    await answering(`${origin.url}/`, origin.child);
  }
});

after(async () => {
  for (const origin of Object.values(origins)) {
    if (origin.child && origin.child.exitCode === null) {
      const exited = new Promise((resolve) => origin.child.once('exit', resolve));
      origin.child.kill('SIGTERM');
      await exited;
    }
  }
  rmSync(build, { recursive: true, force: true });
  await gh?.stop();
});

for (const language of Object.keys(LANGUAGES)) {
  test(`${language}: the origin accepts gatehouse's assertion and refuses requests without a genuine one`, async () => {
    const origin = origins[language];
    const { client, tokens } = await tokensFor(origin.app);
    const proxied = await fetch(`${origin.app}/notes`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(proxied.status, 200, 'a request through gatehouse');
    assert.deepEqual(await proxied.json(), { email: DEMO.email, client_id: client.client_id });

    assert.equal((await fetch(`${origin.url}/notes`)).status, 401, 'a request around gatehouse');
    // An assertion with the right claims and a published kid, signed by another key.
    const { kid } = (await (await fetch(`${origin.app}/oauth/jwks.json`)).json()).keys[0];
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ email: 'mallory@example.com' })
      .setProtectedHeader({ alg: 'ES256', typ: 'gatehouse-assertion+jwt', kid })
      .setIssuer(origin.app)
      .setAudience(origin.app)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const refused = await fetch(`${origin.url}/notes`, { headers: { 'gatehouse-assertion': forged } });
    assert.equal(refused.status, 401, 'an assertion gatehouse did not sign');
  });
}
