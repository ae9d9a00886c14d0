// gatehouse-fetch against a real gatehouse: the CLI follows the demo app's 401 through
// discovery, registration, the person's login and consent (played here by HTTP form posts) and
// PKCE with a loopback redirect, then reuses, refreshes, steps up and revokes its tokens.
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, personAt, rawFetch } from './support/oauth.mjs';
import { buildFetchCli, freshHome, runFetch } from './support/fetch_cli.mjs';

let gh;
let bin;
before(async () => {
  [gh, bin] = await Promise.all([startGatehouse(), buildFetchCli()]);
});
after(() => gh?.stop());

/** The person logs in and approves (or `decision`), and the browser lands on the loopback. */
const person = (options = {}) => async (url) => {
  const landing = await personAt(gh.url, url, options, new Browser(gh.url));
  assert.equal(landing.hostname, '127.0.0.1');
  await rawFetch(landing);
};

const store = async (home) => JSON.parse(await readFile(join(home, 'tokens.json'), 'utf8'));

describe('one agent session against the demo app', () => {
  let home;
  before(async () => (home = await freshHome()));

  test('a 401 becomes a login, a token, and the person\'s data', async () => {
    const out = await runFetch(bin, ['--yes', '--no-browser', `${gh.url}/api/whoami`], { home, onAuthorizeUrl: person() });
    assert.equal(out.code, 0, out.stderr);
    const whoami = JSON.parse(out.stdout);
    assert.equal(whoami['gatehouse-email'], DEMO.email);
    assert.ok(whoami['gatehouse-client-id']);
    const params = out.authorizeUrl.searchParams;
    assert.equal(`${out.authorizeUrl.origin}${out.authorizeUrl.pathname}`, `${gh.url}/oauth/authorize`);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(params.get('state'), /^[A-Za-z0-9_-]{22,}$/);
    assert.equal(params.get('scope'), 'read');
    assert.equal(new URL(params.get('resource')).origin, gh.url);
    assert.match(params.get('redirect_uri'), /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  });

  test('the token store is private: directory 0700, file 0600', async () => {
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    assert.equal((await stat(join(home, 'tokens.json'))).mode & 0o777, 0o600);
    const { tokens, clients } = await store(home);
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0].issuer, gh.url);
    assert.equal(clients[0].client_id, tokens[0].client_id);
  });

  test('the next fetch reuses the token without asking anyone', async () => {
    const before = await store(home);
    const out = await runFetch(bin, ['--no-browser', '-i', `${gh.url}/api/whoami`], { home });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(out.stdout, /"gatehouse-email":\s*"alice@example\.com"/);
    assert.deepEqual(await store(home), before);
  });

  test('an expired token is refreshed, and the refresh token rotates', async () => {
    const before = await store(home);
    before.tokens[0].expires_at = 1;
    await writeFile(join(home, 'tokens.json'), JSON.stringify(before));
    const out = await runFetch(bin, ['--no-browser', `${gh.url}/api/whoami`], { home });
    assert.equal(out.code, 0, out.stderr);
    const [now] = (await store(home)).tokens;
    assert.notEqual(now.access_token, before.tokens[0].access_token);
    assert.notEqual(now.refresh_token, before.tokens[0].refresh_token);
    assert.ok(now.expires_at > Date.now() / 1000);
    assert.equal((await stat(join(home, 'tokens.json'))).mode & 0o777, 0o600);
  });

  test('insufficient_scope steps up to read and write, then the write succeeds', async () => {
    let asked;
    const out = await runFetch(bin, ['--yes', '--no-browser', '-d', 'hello from the cli', `${gh.url}/api/notes`], {
      home,
      onAuthorizeUrl: async (url) => {
        asked = url.searchParams.get('scope');
        await person()(url);
      },
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(asked, 'read write');
    assert.match(out.stderr, /more access/);
    assert.equal(JSON.parse(out.stdout).saved, 'hello from the cli');
    assert.equal((await store(home)).tokens[0].scope, 'read write');
  });

  test('logout revokes at gatehouse and forgets; the old token is refused', async () => {
    const [held] = (await store(home)).tokens;
    const out = await runFetch(bin, ['logout', `${gh.url}/api/whoami`], { home });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /revoked at/);
    assert.equal((await store(home)).tokens.length, 0);
    const res = await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${held.access_token}` } });
    assert.equal(res.status, 401);
    const refresh = await fetch(`${gh.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: held.refresh_token, client_id: held.client_id }),
    });
    assert.equal((await refresh.json()).error, 'invalid_grant');
  });
});

describe('exit codes', () => {
  test('4 for an HTTP error, with the body still written', async () => {
    const out = await runFetch(bin, [`${gh.url}/.gatehouse/nope`], { home: await freshHome() });
    assert.equal(out.code, 4);
    assert.ok(JSON.parse(out.stdout).error);
  });

  test('2 for usage errors', async () => {
    for (const args of [[], ['ftp://127.0.0.1/x'], ['not a url'], ['-H', 'no-colon', gh.url]]) {
      const out = await runFetch(bin, args, { home: await freshHome() });
      assert.equal(out.code, 2, args.join(' '));
    }
  });

  test('3 when nothing listens', async () => {
    const out = await runFetch(bin, [`http://127.0.0.1:${await freePort()}/`], { home: await freshHome() });
    assert.equal(out.code, 3, out.stderr);
  });

  test('6 when consent cannot be asked: no terminal and no --yes', async () => {
    const out = await runFetch(bin, ['--no-browser', `${gh.url}/api/whoami`], { home: await freshHome() });
    assert.equal(out.code, 6, out.stderr);
    assert.match(out.stderr, /--yes/);
    // Issue 17: once "gatehouse-fetch:" a line, never "gatehouse-fetch: consent: gatehouse-fetch: …".
    for (const line of out.stderr.split('\n')) assert.ok(line.split('gatehouse-fetch:').length <= 2, line);
    assert.equal(out.authorizeUrl, undefined, 'no authorization may start without consent');
  });

  test('5 when the person denies at the consent page', async () => {
    const out = await runFetch(bin, ['--yes', '--no-browser', `${gh.url}/api/whoami`], {
      home: await freshHome(),
      onAuthorizeUrl: person({ decision: 'deny' }),
    });
    assert.equal(out.code, 5, out.stderr);
    assert.match(out.stderr, /access_denied/);
  });
});

describe('--client-name (issue 17)', () => {
  test('registers under the given name, which the consent page shows as not verified', async () => {
    const home = await freshHome();
    let consentPage = '';
    const out = await runFetch(bin, ['--yes', '--no-browser', '--client-name', 'Nightly report bot', `${gh.url}/api/whoami`], {
      home,
      onAuthorizeUrl: async (url) => {
        const browser = new Browser(gh.url);
        const login = await browser.fetch(url);
        const back = await browser.submit(await login.text(), { email: DEMO.email, password: DEMO.password });
        consentPage = await (await browser.fetch(back.headers.get('location'))).text();
        const approved = await browser.submit(consentPage, { decision: 'approve' });
        await rawFetch(new URL(approved.headers.get('location')));
      },
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(consentPage, /<h1>Allow Nightly report bot to act for you\?<\/h1>/);
    assert.match(consentPage, /name not verified/);
    const { clients } = await store(home);
    assert.deepEqual(clients.map((c) => c.client_name), ['Nightly report bot']);
  });

  test('an empty name is a usage error', async () => {
    const out = await runFetch(bin, ['--client-name', ' ', `${gh.url}/api/whoami`], { home: await freshHome() });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /^gatehouse-fetch: usage: --client-name must not be empty/m);
  });
});

describe('the device grant against gatehouse (RFC 8628)', () => {
  /** The person opens the verification page, logs in, types the code and approves. */
  const enterCode = async ({ uri, code }) => {
    const browser = new Browser(gh.url);
    const first = await browser.fetch(uri);
    assert.equal(first.status, 302, 'the verification page asks for a login first');
    const login = await browser.fetch(first.headers.get('location'));
    const back = await browser.submit(await login.text(), { email: DEMO.email, password: DEMO.password });
    assert.equal(back.status, 303);
    const page = await browser.fetch(back.headers.get('location'));
    const consent = await browser.submit(await page.text(), { user_code: code });
    assert.equal(consent.status, 200);
    const done = await browser.submit(await consent.text(), { decision: 'approve' });
    assert.equal(done.status, 200);
  };

  test('--device: the CLI prints a code, the person approves it elsewhere, polling brings the token', async () => {
    const home = await freshHome();
    const out = await runFetch(bin, ['--yes', '--device', `${gh.url}/api/whoami`], { home, onDeviceCode: enterCode });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.device, 'the device grant was used');
    assert.equal(out.authorizeUrl, undefined, 'no browser redirect was needed');
    assert.equal(JSON.parse(out.stdout)['gatehouse-email'], DEMO.email);
  });

  test('without a display or browser, the CLI picks the device grant by itself', async () => {
    const home = await freshHome();
    const out = await runFetch(bin, ['--yes', `${gh.url}/api/whoami`], { home, onDeviceCode: enterCode });
    assert.equal(out.code, 0, out.stderr);
    assert.ok(out.device);
  });
});
