// The gatekeeper in front of a real origin: the 401 that leads agents to a token, the login
// redirect for browsers, route scopes, what the origin receives (and must not), streaming,
// origin failures, cross-app tokens, revocation, Markdown for agents, and logout.
import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { freePort, startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, personAt, rawFetch, tokensFor } from './support/oauth.mjs';
import { requestWithHost, startOrigin } from './support/origin.mjs';

let gh;
let origin;
before(async () => {
  origin = await startOrigin();
  const closedPort = await freePort();
  const policy = { allow_domains: ['example.com'] };
  const apps = [
    { name: 'Files', host: 'files.test', scopes: { read: 'Read files' }, policy, origin: origin.url },
    { name: 'Down', host: 'down.test', scopes: { read: 'Read' }, policy, origin: `http://127.0.0.1:${closedPort}`, public_paths: ['/**'] },
    {
      name: 'Wiki', host: '*', scopes: { read: 'Read pages', write: 'Edit pages' }, default_scopes: ['read'], policy, origin: origin.url,
      routes: [
        { methods: ['GET', 'HEAD'], path: '/**', scope: 'read' },
        { methods: ['POST', 'PUT', 'PATCH', 'DELETE'], path: '/**', scope: 'write' },
      ],
      public_paths: ['/public/**'],
    },
  ];
  gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
});

const bearer = (token) => ({ authorization: `Bearer ${token}` });

async function verifyAssertion(jwt) {
  const [header, payload, signature] = jwt.split('.');
  const { kid, typ } = JSON.parse(Buffer.from(header, 'base64url'));
  assert.equal(typ, 'gatehouse-assertion+jwt');
  const { keys } = await (await fetch(`${gh.url}/oauth/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === kid);
  const key = await webcrypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const valid = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(signature, 'base64url'), Buffer.from(`${header}.${payload}`));
  assert.ok(valid, 'the assertion verifies with the published JWKS');
  return JSON.parse(Buffer.from(payload, 'base64url'));
}

describe('without credentials', () => {
  test('an agent gets 401 with a Bearer challenge pointing at the metadata', async () => {
    const res = await fetch(`${gh.url}/echo`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.equal(
      res.headers.get('www-authenticate'),
      `Bearer resource_metadata="${gh.url}/.well-known/oauth-protected-resource", scope="read"`,
    );
    const post = await fetch(`${gh.url}/echo`, { method: 'POST', body: 'x' });
    assert.match(post.headers.get('www-authenticate'), /scope="write"/);
  });

  test('a browser is sent to log in, then back to where it was going', async () => {
    const browser = new Browser(gh.url);
    const res = await browser.fetch('/echo?x=1', { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    assert.equal(res.status, 302);
    const location = res.headers.get('location');
    assert.equal(location, '/.gatehouse/login?return_to=%2Fecho%3Fx%3D1');
    const back = await personAt(gh.url, new URL(location, gh.url), {}, browser);
    assert.equal(`${back.pathname}${back.search}`, '/echo?x=1');
    const page = await browser.fetch(back);
    assert.equal(page.status, 200);
    const seen = await page.json();
    assert.equal(seen.headers['gatehouse-email'], DEMO.email);
    assert.equal(seen.headers['gatehouse-client-id'], undefined, 'no agent: the person in their browser');
    assert.equal(seen.headers['gatehouse-scope'], 'read write');
  });

  // Issue 19: `q=0.0` is `q=0` (RFC 9110 §12.4.2), so an agent that refuses HTML is not a browser,
  // however it spells the zero. No Sec-Fetch-Mode (a plain HTTP client), so `Accept` decides.
  test('an agent refusing text/html with q=0.0 gets the 401 challenge, not the login redirect', async () => {
    for (const accept of ['text/html;q=0.0, application/json', 'text/html; q=0.000, */*']) {
      const res = await rawFetch(`${gh.url}/echo`, { headers: { accept } });
      assert.equal(res.status, 401, accept);
      assert.match(res.headers.get('www-authenticate'), /^Bearer resource_metadata=/, accept);
    }
    const browser = await rawFetch(`${gh.url}/echo`, { headers: { accept: 'text/html;q=0.9' } });
    assert.equal(browser.status, 302);
  });

  test('public paths pass without any login', async () => {
    const res = await fetch(`${gh.url}/public/health`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  });

  test('gatehouse namespaces are never forwarded', async () => {
    for (const path of ['/oauth/anything', '/.gatehouse/anything', '/.well-known/other']) {
      assert.equal((await fetch(`${gh.url}${path}`)).status, 404, path);
    }
  });
});

describe('an agent with a token', () => {
  let client;
  let tokens;
  before(async () => ({ client, tokens } = await tokensFor(gh.url, { scope: 'read' })));

  test('reaches the origin as the person, with an assertion and without its own credentials', async () => {
    const res = await rawFetch(`${gh.url}/echo?q=1`, {
      headers: {
        ...bearer(tokens.access_token),
        cookie: 'theme=dark; __Host-gatehouse-session=stolen',
        'gatehouse-email': 'ceo@example.com',
        'gatehouse-assertion': 'forged',
        'x-kept': 'yes',
        'x-forwarded-for': '203.0.113.66',
      },
    });
    assert.equal(res.status, 200);
    const seen = await res.json();
    assert.equal(seen.query, '?q=1');
    assert.equal(seen.headers.authorization, undefined, 'the bearer token never reaches the origin');
    assert.equal(seen.headers.cookie, 'theme=dark', "gatehouse's cookies stay behind");
    assert.equal(seen.headers['gatehouse-email'], DEMO.email, 'a client cannot speak for gatehouse');
    assert.equal(seen.headers['gatehouse-client-id'], client.client_id);
    assert.equal(seen.headers['gatehouse-scope'], 'read');
    assert.equal(seen.headers['x-kept'], 'yes');
    assert.notEqual(seen.headers['x-forwarded-for'], '203.0.113.66', 'a client cannot claim another address');
    assert.equal(seen.headers['x-forwarded-host'], new URL(gh.url).host);
    const claims = await verifyAssertion(seen.headers['gatehouse-assertion']);
    assert.equal(claims.aud, gh.url);
    assert.equal(claims.email, DEMO.email);
    assert.equal(claims.client_id, client.client_id);
    assert.equal(claims.client_name, 'e2e agent');
    assert.ok(claims.grant_id);
    assert.ok(claims.exp - claims.iat <= 60);
    assert.equal(res.headers.get('x-origin'), 'yes');
    assert.equal(res.headers.get('x-origin-hop'), null, 'response hop-by-hop headers are dropped');
  });

  test('a route needing a scope it lacks is 403 insufficient_scope', async () => {
    const res = await fetch(`${gh.url}/echo`, { method: 'POST', headers: bearer(tokens.access_token), body: 'x' });
    assert.equal(res.status, 403);
    const challenge = res.headers.get('www-authenticate');
    assert.match(challenge, /error="insufficient_scope"/);
    assert.match(challenge, /scope="write"/);
    assert.match(challenge, /resource_metadata="/);
  });

  test('a token in the query string is refused', async () => {
    const res = await fetch(`${gh.url}/echo?access_token=${tokens.access_token}`);
    assert.equal(res.status, 400);
    assert.match(res.headers.get('www-authenticate'), /error="invalid_request"/);
  });

  test('an invalid token is 401 invalid_token', async () => {
    const res = await fetch(`${gh.url}/echo`, { headers: bearer(`${tokens.access_token.slice(0, -4)}AAAA`) });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /error="invalid_token"/);
    assert.equal((await res.json()).error, 'invalid_token');
  });

  test("a token for one app is refused at another", async () => {
    const res = await requestWithHost(gh.url, '/echo', { host: 'files.test', headers: bearer(tokens.access_token) });
    assert.equal(res.status, 401);
    assert.match(res.headers['www-authenticate'], /error="invalid_token"/);
    assert.match(res.headers['www-authenticate'], /resource_metadata="http:\/\/files\.test\/\.well-known/);
  });
});

describe('with write scope', () => {
  test('a large body streams through intact', async () => {
    const { tokens } = await tokensFor(gh.url, { scope: 'read write' });
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    const res = await fetch(`${gh.url}/echo`, { method: 'PUT', headers: bearer(tokens.access_token), body });
    assert.equal(res.status, 200);
    const seen = await res.json();
    assert.equal(seen.length, body.length);
    assert.equal(seen.sha256, createHash('sha256').update(body).digest('hex'));
  });
});

describe('origin behaviour', () => {
  let tokens;
  before(async () => ({ tokens } = await tokensFor(gh.url)));

  test("the origin cannot plant gatehouse's cookies", async () => {
    const res = await fetch(`${gh.url}/cookies`, { headers: bearer(tokens.access_token) });
    assert.equal(res.status, 200);
    const cookies = res.headers.getSetCookie();
    assert.ok(cookies.some((c) => c.startsWith('theme=dark')));
    assert.ok(!cookies.some((c) => c.startsWith('__Host-gatehouse-')), cookies.join(' | '));
  });

  test("the origin's errors pass through", async () => {
    const res = await fetch(`${gh.url}/status/503`, { headers: bearer(tokens.access_token) });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { from: 'origin', status: 503 });
  });

  test('an unreachable origin is a 502 JSON answer', async () => {
    const res = await requestWithHost(gh.url, '/anything', { host: 'down.test' });
    assert.equal(res.status, 502);
    // Issue 19: a registered code (RFC 6749 §4.1.2.1), not the made-up `bad_gateway`.
    assert.deepEqual(JSON.parse(res.body), {
      error: 'temporarily_unavailable',
      error_description: "the app's origin did not answer",
    });
  });

  test('an agent preferring Markdown gets the HTML page as Markdown', async () => {
    const md = await fetch(`${gh.url}/page`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown, text/html;q=0.5' } });
    assert.equal(md.status, 200);
    assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
    assert.match(md.headers.get('vary'), /Accept/);
    const text = await md.text();
    assert.match(text, /# Team notes/);
    assert.match(text, /\[guide\]\(https:\/\/docs\.example\/guide\)/);
    assert.doesNotMatch(text, /alert|<script|color:red/);
    const html = await fetch(`${gh.url}/page`, { headers: { ...bearer(tokens.access_token), accept: 'text/html' } });
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.match(html.headers.get('vary'), /Accept/);
    assert.match(await html.text(), /<h1>Team notes<\/h1>/);
    const json = await fetch(`${gh.url}/echo`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown' } });
    assert.match(json.headers.get('content-type'), /^application\/json/, 'only HTML is converted');
  });

  test('a converted page streams: Markdown arrives while the origin is still sending', async () => {
    const md = await fetch(`${gh.url}/page/held`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown' }, signal: AbortSignal.timeout(20_000) });
    assert.equal(md.status, 200);
    assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const reader = md.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The origin holds the rest of the page until released: the first part must come through first.
    const deadline = Date.now() + 10_000;
    while (!text.includes('first part')) {
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no Markdown before the page ended; got ${JSON.stringify(text)}`)), deadline - Date.now())),
      ]);
      assert.ok(!done, 'the body ended before the origin did');
      text += decoder.decode(value, { stream: true });
    }
    assert.match(text, /^# Held\n\nfirst part/);
    assert.doesNotMatch(text, /second part/);
    origin.releaseHeldPage();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.match(text, /second part\n$/);
  });

  test('a large page sent slowly streams as Markdown, up to the size limit', async () => {
    const md = await fetch(`${gh.url}/page/slow`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown' }, signal: AbortSignal.timeout(60_000) });
    assert.equal(md.status, 200);
    assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const reader = md.body.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    assert.ok(!first.done, 'no Markdown at all');
    // The origin takes about 4 s to send the page: the first Markdown must not wait for it.
    assert.equal(origin.slowPage.ended, null, 'the first Markdown came only after the origin had sent the whole page');
    let text = decoder.decode(first.value, { stream: true });
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.match(text, /^# Large\n/);
    assert.match(text, /stopped converting this page here \(too_large\)/);
    assert.doesNotMatch(text, /THE END/);
    assert.ok(text.length < 1.2 * 1024 * 1024, `${text.length} bytes`);
  });

  test('an HTML answer without content (304) is passed through, not converted', async () => {
    const res = await fetch(`${gh.url}/page/unchanged`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown', 'if-none-match': '"v1"' } });
    assert.equal(res.status, 304);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    assert.equal(res.headers.get('etag'), '"v1"');
  });

  test('a page over 1 MiB is converted up to the limit, or passed through when its length says so', async () => {
    const md = await fetch(`${gh.url}/page/large`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown' } });
    assert.equal(md.status, 200);
    assert.equal(md.headers.get('content-type'), 'text/markdown; charset=utf-8');
    const text = await md.text();
    assert.match(text, /^# Large\n/);
    assert.match(text, /stopped converting this page here \(too_large\)/);
    assert.doesNotMatch(text, /THE END/);
    assert.ok(text.length < 1.2 * 1024 * 1024, `${text.length} bytes`);
    const html = await fetch(`${gh.url}/page/large?declared=1`, { headers: { ...bearer(tokens.access_token), accept: 'text/markdown' } });
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.match(html.headers.get('vary'), /Accept/);
    assert.match(await html.text(), /<p>THE END<\/p>$/);
  });
});

describe('revocation and logout', () => {
  test('a revoked token is refused at the gate at once', async () => {
    const { client, tokens } = await tokensFor(gh.url);
    assert.equal((await fetch(`${gh.url}/echo`, { headers: bearer(tokens.access_token) })).status, 200);
    await fetch(`${gh.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token, client_id: client.client_id }),
    });
    const res = await fetch(`${gh.url}/echo`, { headers: bearer(tokens.access_token) });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, 'invalid_token');
  });

  test('logging out ends the browser session', async () => {
    const browser = new Browser(gh.url);
    const nav = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } };
    const login = await browser.fetch('/echo', nav);
    await personAt(gh.url, new URL(login.headers.get('location'), gh.url), {}, browser);
    assert.equal((await browser.fetch('/echo', nav)).status, 200);
    const csrf = browser.cookies.get('__Host-gatehouse-csrf');
    const out = await browser.fetch('/.gatehouse/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrf }),
    });
    assert.equal(out.status, 303);
    assert.equal((await browser.fetch('/echo', nav)).status, 302, 'back to the login page');
  });
});
