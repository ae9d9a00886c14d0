// The authorization code flow end to end: login with the demo account, consent, token, refresh
// with rotation, revocation, introspection, and the attacks each step must refuse.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import {
  Browser, DEMO, REDIRECT, authorizeAsPerson, authorizeUrl, claimsOf, pkce, register, tokenRequest, tokensFor,
} from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

describe('a person sends an agent through login and consent', () => {
  test('the login page, the consent page and the redirect carry what they must', async () => {
    const client = await register(gh.url, { client_name: '<b>Agent</b>' });
    const { challenge } = pkce();
    const browser = new Browser(gh.url);
    const login = await browser.fetch(authorizeUrl(gh.url, client, { challenge }));
    assert.equal(login.status, 200);
    assert.match(login.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(login.headers.get('cache-control'), 'no-store');
    assert.match(login.headers.getSetCookie().join('\n'), /__Host-gatehouse-csrf=[^;]+; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax/);
    const loginHtml = await login.text();
    assert.match(loginHtml, /name="csrf_token"/);
    const loggedIn = await browser.submit(loginHtml, { email: DEMO.email, password: DEMO.password });
    assert.equal(loggedIn.status, 303);
    assert.match(loggedIn.headers.getSetCookie().join('\n'), /__Host-gatehouse-session=[^;]+;.*Secure; HttpOnly; SameSite=Lax/);
    const consent = await browser.fetch(loggedIn.headers.get('location'));
    const html = await consent.text();
    assert.equal(consent.status, 200);
    assert.match(html, /&lt;b&gt;Agent&lt;\/b&gt;/);
    assert.match(html, /your own computer/);
    assert.match(html, /127\.0\.0\.1/);
    assert.match(html, /alice@example\.com/);
    const approved = await browser.submit(html, { decision: 'approve' });
    assert.equal(approved.status, 303);
    const location = new URL(approved.headers.get('location'));
    assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
    assert.ok(location.searchParams.get('code'));
    assert.equal(location.searchParams.get('state'), 'st4te');
    assert.equal(location.searchParams.get('iss'), gh.url);
  });

  test('a wrong password shows the form again without revealing which part was wrong', async () => {
    const client = await register(gh.url);
    const browser = new Browser(gh.url);
    const html = await (await browser.fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge }))).text();
    for (const [email, password] of [[DEMO.email, 'wrong'], ['nobody@example.com', DEMO.password]]) {
      const res = await browser.submit(html, { email, password });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Wrong email or password\./);
    }
  });

  test('a login or consent without the CSRF cookie is refused', async () => {
    const client = await register(gh.url);
    const browser = new Browser(gh.url);
    const html = await (await browser.fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge }))).text();
    browser.cookies.delete('__Host-gatehouse-csrf');
    const res = await browser.submit(html, { email: DEMO.email, password: DEMO.password });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /form expired/);
  });

  test('denying consent sends access_denied with state and iss', async () => {
    const client = await register(gh.url);
    const location = await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge, decision: 'deny' });
    assert.equal(location.searchParams.get('error'), 'access_denied');
    assert.equal(location.searchParams.get('state'), 'st4te');
    assert.equal(location.searchParams.get('iss'), gh.url);
  });
});

describe('remembered consent and loopback ports (issue 15 §5, RFC 8252 §8.6)', () => {
  test("a public client's remembered consent holds for the approved port only; a confidential client's for any", async () => {
    const otherPort = 'http://127.0.0.1:10/callback';
    for (const [metadata, promptsAgain] of [[{}, true], [{ token_endpoint_auth_method: 'client_secret_basic' }, false]]) {
      const client = await register(gh.url, metadata);
      const browser = new Browser(gh.url);
      await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge }, browser);
      const same = await browser.fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge }));
      assert.equal(same.status, 302, 'the approved redirect URI needs no prompt');
      const other = await browser.fetch(authorizeUrl(gh.url, client, { challenge: pkce().challenge, redirect: otherPort }));
      if (promptsAgain) {
        assert.equal(other.status, 200);
        assert.match(await other.text(), /value="approve"/);
      } else {
        assert.equal(other.status, 302);
        assert.ok(other.headers.get('location').startsWith(otherPort));
      }
    }
  });
});

describe('bad authorization requests', () => {
  test('an unknown client or unregistered redirect gets an error page, never a redirect', async () => {
    const client = await register(gh.url);
    const cases = [
      authorizeUrl(gh.url, { client_id: 'nope' }, { challenge: pkce().challenge }),
      authorizeUrl(gh.url, client, { challenge: pkce().challenge, redirect: 'https://evil.example/cb' }),
    ];
    for (const url of cases) {
      const res = await fetch(url, { redirect: 'manual' });
      assert.equal(res.status, 400, url.href);
      assert.equal(res.headers.get('location'), null);
      assert.match(res.headers.get('content-type'), /text\/html/);
      assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
    }
  });

  test('missing or plain PKCE and a foreign resource are sent back as errors with iss', async () => {
    const client = await register(gh.url);
    const browser = new Browser(gh.url);
    await authorizeAsPerson(gh.url, client, { challenge: pkce().challenge }, browser);
    const noPkce = authorizeUrl(gh.url, client, {});
    const plain = authorizeUrl(gh.url, client, { challenge: pkce().challenge });
    plain.searchParams.set('code_challenge_method', 'plain');
    const foreign = authorizeUrl(gh.url, client, { challenge: pkce().challenge, resource: 'https://evil.example/' });
    for (const [url, error] of [[noPkce, 'invalid_request'], [plain, 'invalid_request'], [foreign, 'invalid_target']]) {
      const res = await browser.fetch(url);
      assert.equal(res.status, 302, url.href);
      const location = new URL(res.headers.get('location'));
      assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
      assert.equal(location.searchParams.get('error'), error);
      assert.equal(location.searchParams.get('iss'), gh.url);
    }
  });
});

describe('tokens', () => {
  test('the code becomes an RFC 9068 access token and a refresh token, not cached', async () => {
    const client = await register(gh.url);
    const { verifier, challenge } = pkce();
    const location = await authorizeAsPerson(gh.url, client, { challenge, scope: 'read write' });
    const res = await tokenRequest(gh.url, { grant_type: 'authorization_code', code: location.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const tokens = await res.json();
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.scope, 'read write');
    const header = JSON.parse(Buffer.from(tokens.access_token.split('.')[0], 'base64url'));
    assert.deepEqual([header.alg, header.typ], ['ES256', 'at+jwt']);
    const claims = claimsOf(tokens.access_token);
    assert.equal(claims.iss, gh.url);
    assert.equal(claims.aud, gh.url);
    assert.equal(claims.email, DEMO.email);
    assert.equal(claims.client_id, client.client_id);
  });

  test('an independent JWT library verifies the token against the published JWKS', async () => {
    const { tokens } = await tokensFor(gh.url);
    const jwks = await (await fetch(`${gh.url}/oauth/jwks.json`)).text();
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-jwt-'));
    await writeFile(join(dir, 'jwks.json'), jwks);
    const { stdout } = await promisify(execFile)(
      'cargo', ['run', '--quiet', '-p', 'gatehouse-core', '--example', 'verify_jwt', '--', join(dir, 'jwks.json'), tokens.access_token],
      { cwd: ROOT },
    );
    await rm(dir, { recursive: true, force: true });
    assert.equal(JSON.parse(stdout).iss, gh.url);
  });

  test('a code works once; its replay is refused and revokes the tokens it gave', async () => {
    const client = await register(gh.url);
    const { verifier, challenge } = pkce();
    const code = (await authorizeAsPerson(gh.url, client, { challenge })).searchParams.get('code');
    const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: client.client_id };
    const first = await (await tokenRequest(gh.url, params)).json();
    const replay = await tokenRequest(gh.url, params);
    assert.equal(replay.status, 400);
    assert.equal((await replay.json()).error, 'invalid_grant');
    const refresh = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: client.client_id });
    assert.equal((await refresh.json()).error, 'invalid_grant');
  });

  test('a wrong PKCE verifier is invalid_grant', async () => {
    const client = await register(gh.url);
    const { challenge } = pkce();
    const code = (await authorizeAsPerson(gh.url, client, { challenge })).searchParams.get('code');
    const res = await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce().verifier, client_id: client.client_id });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_grant');
  });

  test('refresh rotates; a quick retry gets the same successor; later reuse revokes the grant', async () => {
    const { client, tokens } = await tokensFor(gh.url);
    const refresh = (token) => tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: token, client_id: client.client_id });
    const a = await (await refresh(tokens.refresh_token)).json();
    const b = await (await refresh(tokens.refresh_token)).json();
    assert.ok(a.refresh_token && a.refresh_token !== tokens.refresh_token);
    assert.equal(b.refresh_token, a.refresh_token, 'a retry must not fork the chain');
    const c = await (await refresh(a.refresh_token)).json();
    assert.ok(c.access_token);
    const reuse = await refresh(tokens.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal((await reuse.json()).error, 'invalid_grant');
    const afterReuse = await refresh(c.refresh_token);
    assert.equal((await afterReuse.json()).error, 'invalid_grant', 'reuse must revoke the whole grant');
  });

  test('the token endpoint refuses what is not a form, and GET', async () => {
    const json = await fetch(`${gh.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"authorization_code"}' });
    assert.equal(json.status, 400);
    assert.equal((await json.json()).error, 'invalid_request');
    assert.equal((await fetch(`${gh.url}/oauth/token`)).status, 405);
    const huge = await tokenRequest(gh.url, { grant_type: 'x', padding: 'x'.repeat(40_000) });
    assert.equal(huge.status, 413);
  });

  test('a chunked body that never declares its length is cut off at the limit', async () => {
    // gatehouse answers 413 as soon as the limit is passed and stops reading, so the answer is
    // taken from the response event. Nothing is written after the chunk that passes the limit:
    // the server closes with body bytes unread, which resets the connection, and a reset that
    // arrives before the answer is read discards it (seen as `socket hang up`), as in the case
    // below.
    const LIMIT = 16 * 1024; // gatehouse_core::form::MAX_FORM_BYTES
    const { request } = await import('node:http');
    const url = new URL(`${gh.url}/oauth/token`);
    const status = await new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' } },
      (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      // Past the limit and then silence: the body never ends, so only a server that stops at
      // the limit answers at all.
      const chunk = `padding=${'x'.repeat(8 * 1024)}&`;
      let sent = 0;
      const write = () => {
        if (sent > LIMIT || req.destroyed) return;
        sent += chunk.length;
        req.write(chunk, () => setTimeout(write, 1));
      };
      write();
      setTimeout(() => { req.destroy(); reject(new Error('no answer: the body was read without a limit')); }, 10_000).unref();
    });
    assert.equal(status, 413);
  });

  test('a body that declares a small length but is sent chunked is still cut off at the limit', async () => {
    // Request smuggling's two framings at once. gatehouse reads a body with a declared length in
    // one call (src/http.rs), which is safe only because the runtime lets Transfer-Encoding win
    // and drops Content-Length (RFC 9112 §6.3). Were it to keep both, that read would buffer
    // whatever the chunked body brings. The body never ends, so only a server that stops at the
    // limit (or refuses the framing) answers at all.
    //
    // The body goes in paced chunks, each written only once the one before has left and no
    // answer has come, and none after the one that passes the limit: a server that stops there
    // answers and closes with body bytes unread, which resets the connection, and a write racing
    // that reset fails and discards the answer before it is read (a flaky `write ECONNRESET`).
    // With nothing written after the limit, the answer is read before the reset is seen.
    const LIMIT = 16 * 1024; // gatehouse_core::form::MAX_FORM_BYTES
    const { connect } = await import('node:net');
    const url = new URL(gh.url);
    const answer = await new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = '';
      socket.on('data', (data) => {
        received += data;
        if (received.includes('\r\n')) resolve(received.split('\r\n')[0]);
      });
      socket.on('error', (error) => (received ? undefined : reject(error)));
      socket.write('POST /oauth/token HTTP/1.1\r\nHost: ' + url.host + '\r\n'
        + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = `padding=${'x'.repeat(4 * 1024)}&`;
      let sent = 0;
      const write = () => {
        if (received || socket.destroyed || sent > LIMIT) return;
        sent += chunk.length;
        socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, () => setTimeout(write, 20));
      };
      write();
      // The body never ends: only a server that stops at the limit answers at all.
      setTimeout(() => { socket.destroy(); reject(new Error('no answer: the body was read without a limit')); }, 10_000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 (413|400) /);
  });

  test('a confidential client with a wrong secret is invalid_client with a Basic challenge', async () => {
    const client = await register(gh.url, { token_endpoint_auth_method: 'client_secret_basic' });
    const res = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: 'x' }, { basic: { id: client.client_id, secret: 'wrong' } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate'), /^Basic/);
    assert.equal((await res.json()).error, 'invalid_client');
  });
});

describe('one token, one encoding (issue 15 §4)', () => {
  // P-256's group order n: an ECDSA signature (r, s) has a twin (r, n − s) that verifies too.
  const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const sOf = (jwt) => BigInt(`0x${Buffer.from(jwt.split('.')[2], 'base64url').subarray(32).toString('hex')}`);
  const twinOf = (jwt) => {
    const [header, payload, signature] = jwt.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    const s = Buffer.from((N - sOf(jwt)).toString(16).padStart(64, '0'), 'hex');
    return `${header}.${payload}.${Buffer.concat([bytes.subarray(0, 32), s]).toString('base64url')}`;
  };

  test('every token the Worker signs is low-s, and the high-s twin of a real token is 401 at the gate', async () => {
    // WebCrypto leaves about half its ECDSA signatures high-s; gatehouse normalises them.
    const { client, tokens } = await tokensFor(gh.url);
    const accessTokens = [tokens.access_token];
    let refreshToken = tokens.refresh_token;
    for (let i = 0; i < 11; i++) {
      const next = await (await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.client_id })).json();
      accessTokens.push(next.access_token);
      refreshToken = next.refresh_token;
    }
    for (const token of accessTokens) assert.ok(sOf(token) <= N / 2n, `high-s token ${token}`);
    const token = accessTokens.at(-1);
    const twin = twinOf(token);
    assert.notEqual(twin, token);
    // The twin verifies with a plain ECDSA check against the published key ...
    const { keys } = await (await fetch(`${gh.url}/oauth/jwks.json`)).json();
    const { kid } = JSON.parse(Buffer.from(twin.split('.')[0], 'base64url'));
    const jwk = keys.find((k) => k.kid === kid);
    const { webcrypto } = await import('node:crypto');
    const key = await webcrypto.subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const [header, payload, signature] = twin.split('.');
    const verifies = await webcrypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(signature, 'base64url'), Buffer.from(`${header}.${payload}`));
    assert.ok(verifies, 'the twin is a valid ECDSA signature');
    // ... and the gate refuses it, while the token itself passes.
    const refused = await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${twin}` } });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate'), /error="invalid_token"/);
    const admitted = await fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(admitted.status, 200);
  });
});

describe('a code a stranger cannot spend (issue 15 §5)', () => {
  test("another client, or a wrong verifier, leaves the code to its client and is audited", async () => {
    const client = await register(gh.url);
    const stranger = await register(gh.url);
    const { verifier, challenge } = pkce();
    const code = (await authorizeAsPerson(gh.url, client, { challenge })).searchParams.get('code');
    const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier };
    // Someone who saw the code (a log, a Referer) tries it with their own client, even with
    // the right verifier, and with the right client but a guessed verifier.
    const foreign = await tokenRequest(gh.url, { ...params, client_id: stranger.client_id });
    assert.equal(foreign.status, 400);
    assert.equal((await foreign.json()).error, 'invalid_grant');
    const guessed = await tokenRequest(gh.url, { ...params, code_verifier: pkce().verifier, client_id: client.client_id });
    assert.equal(guessed.status, 400);
    assert.equal((await guessed.json()).error, 'invalid_grant');
    // The rightful exchange still works, and its grant is live.
    const res = await tokenRequest(gh.url, { ...params, client_id: client.client_id });
    assert.equal(res.status, 200);
    const tokens = await res.json();
    const refreshed = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(refreshed.status, 200);
    const grant = claimsOf(tokens.access_token).grant_id;
    const events = await gh.query(`SELECT kind, subject, client_id FROM audit_events WHERE grant_id = '${grant}' ORDER BY id`);
    assert.deepEqual(events.map((e) => e.kind), ['grant_created', 'code_refused', 'code_refused', 'token_issued', 'token_refreshed']);
    assert.deepEqual(events.slice(1, 3).map((e) => e.client_id), [stranger.client_id, client.client_id]);
    assert.equal(events[1].subject, 'local:alice@example.com');
  });
});

describe('revocation and introspection', () => {
  test('a confidential client revokes its refresh token; introspection then says inactive', async () => {
    const confidential = await register(gh.url, { token_endpoint_auth_method: 'client_secret_post' });
    const { verifier, challenge } = pkce();
    const code = (await authorizeAsPerson(gh.url, confidential, { challenge })).searchParams.get('code');
    const secret = { client_id: confidential.client_id, client_secret: confidential.client_secret };
    const issued = await (await tokenRequest(gh.url, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, ...secret })).json();
    const introspect = async (token) =>
      (await fetch(`${gh.url}/oauth/introspect`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, ...secret }) })).json();
    const active = await introspect(issued.access_token);
    assert.equal(active.active, true);
    assert.equal(active.username, DEMO.email);
    const revoked = await fetch(`${gh.url}/oauth/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: issued.refresh_token, ...secret }) });
    assert.equal(revoked.status, 200);
    assert.deepEqual(await introspect(issued.access_token), { active: false });
    assert.deepEqual(await introspect(issued.refresh_token), { active: false });
  });

  test('a revocation also goes through the revocations Queue and its consumer applies it', async () => {
    const { client, tokens } = await tokensFor(gh.url);
    const grant = claimsOf(tokens.access_token).grant_id;
    // With the access token: a refresh token's revocation writes D1 first and leaves what a
    // crash cuts short to the cron's sweep, not the Queue (revocation_sweep.test.mjs).
    const res = await fetch(`${gh.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }),
    });
    assert.equal(res.status, 200);
    const applied = `revocation of ${grant} (client_request) applied from the queue`;
    const deadline = Date.now() + 15_000;
    while (!gh.log().includes(applied) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(gh.log().includes(applied), 'the consumer applied the queued command');
    const events = await gh.query(`SELECT kind, subject, client_id, source_ip FROM audit_events WHERE grant_id = '${grant}' ORDER BY id`);
    assert.deepEqual(events.map((e) => e.kind), ['grant_created', 'token_issued', 'grant_revoked']);
    assert.equal(events[1].subject, 'local:alice@example.com');
    assert.equal(events[1].client_id, client.client_id);
  });

  test('unknown tokens revoke with 200; public clients may not introspect', async () => {
    const { client, tokens } = await tokensFor(gh.url);
    const form = (params) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
    assert.equal((await fetch(`${gh.url}/oauth/revoke`, form({ token: 'nope', client_id: client.client_id }))).status, 200);
    const res = await fetch(`${gh.url}/oauth/introspect`, form({ token: tokens.access_token, client_id: client.client_id }));
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, 'invalid_client');
  });
});
