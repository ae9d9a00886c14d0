// README "Try the flow by hand" runs as written: scripts/try-the-flow against a real gatehouse,
// with the test playing the person in the browser (log in, approve) and the browser bringing the
// code to the script's loopback listener; the script then exchanges the code, calls the app,
// refreshes, revokes, and sees the access token refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, freePort, startGatehouse } from './support/gatehouse.mjs';
import { personAt } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

test('the by-hand walkthrough catches the callback, uses the token, refreshes and revokes', async () => {
  const port = await freePort();
  const script = spawn(join(ROOT, 'scripts', 'try-the-flow'), [], {
    env: { ...process.env, GATEHOUSE_URL: gh.url, CALLBACK_PORT: String(port), NO_BROWSER: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  script.stdout.on('data', (d) => (out += d));
  script.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => script.on('exit', resolve));
  const deadline = Date.now() + 20_000;
  while (!/^open: (\S+)$/m.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const url = out.match(/^open: (\S+)$/m)?.[1];
  assert.ok(url, `the script printed no URL to open:\n${out}`);
  // The person logs in and approves; their browser follows the redirect to the listener.
  const callback = await personAt(gh.url, url);
  assert.equal(callback.origin, `http://127.0.0.1:${port}`);
  let page;
  for (let attempt = 0; !page && attempt < 50; attempt++) {
    page = await fetch(callback).catch(() => new Promise((r) => setTimeout(r, 100)));
  }
  assert.equal(page.status, 200);
  assert.equal(await page.text(), 'Done: back to the terminal.');
  assert.equal(await exited, 0, out);
  assert.match(out, /"gatehouse-email":"alice@example.com"/);
  assert.match(out, /the new access token works/);
  assert.match(out, /revoke: 200/);
  assert.match(out, /the access token now: 401/);
});
