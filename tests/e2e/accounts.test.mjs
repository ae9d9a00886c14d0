// Local accounts configured by an operator: a hash made by scripts/hash-password.mjs logs in
// through the real Worker (WebCrypto PBKDF2), and only the configured accounts exist.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { DEMO, pkce, register, authorizeAsPerson } from './support/oauth.mjs';

const PASSWORD = 'a long operator-chosen passphrase';
let gh;
before(async () => {
  const hash = execFileSync(process.execPath, [join(ROOT, 'scripts', 'hash-password.mjs')], { input: PASSWORD }).toString().trim();
  gh = await startGatehouse({ vars: { LOCAL_ACCOUNTS: JSON.stringify({ 'bob@example.com': hash }) } });
});
after(() => gh?.stop());

test('an account hashed with scripts/hash-password.mjs logs in', async () => {
  const client = await register(gh.url);
  const location = await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, email: 'bob@example.com', password: PASSWORD });
  assert.ok(location.searchParams.get('code'));
});

test('accounts not configured do not exist', async () => {
  const client = await register(gh.url);
  await assert.rejects(
    authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, email: DEMO.email, password: DEMO.password }),
    /login failed: 200/,
  );
});
