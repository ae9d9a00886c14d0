// Issue 21 §1: an app written for Cloudflare Access runs unchanged behind gatehouse. The origin
// (tests/e2e/access-origin/worker.mjs) validates `Cf-Access-Jwt-Assertion` the way Cloudflare's
// guide has a Worker do it, with `jose` against `${TEAM_DOMAIN}/cdn-cgi/access/certs`; its only
// change is TEAM_DOMAIN, now gatehouse's URL for the app. The certificate in `public_cert` is
// checked with node:crypto, as apps that read PEM certificates do. Cloudflare's Go example
// (tests/e2e/access-origin/go/main.go, github.com/coreos/go-oidc) runs as a second app under
// the path prefix /go, whose team domain is `<gatehouse>/go`; it is built with Debian's
// golang-go and golang-github-coreos-go-oidc-dev (the Go module proxy is out of reach), and
// its tests are skipped, saying why, where those are not installed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate, createVerify } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAccessOrigin } from './access-origin/serve.mjs';
import { ROOT, freePort, startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, personAt, rawFetch, tokensFor } from './support/oauth.mjs';

const TAG = '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2';
const env = { TEAM_DOMAIN: 'https://example-team.cloudflareaccess.com', POLICY_AUD: TAG };
const nav = { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } };

const GOPATH = '/usr/share/gocode';
const goMissing = existsSync(join(GOPATH, 'src', 'github.com', 'coreos', 'go-oidc', 'verify.go')) && existsSync('/usr/bin/go')
  ? false
  : 'needs Debian\'s golang-go and golang-github-coreos-go-oidc-dev (apt-get install golang-go golang-github-coreos-go-oidc-dev)';

let gh;
let origin;
let agent;
let goPort;
let goOrigin;
before(async () => {
  origin = await startAccessOrigin(env);
  goPort = await freePort();
  const app = (name, extra) => ({
    name, host: '*', scopes: { read: 'Read' }, default_scopes: ['read'],
    policy: { allow_domains: ['example.com'] }, identity: 'cloudflare-access', access_aud: [TAG], ...extra,
  });
  const apps = [
    app('Access app', { origin: origin.url }),
    app('Go app', { path_prefix: '/go', origin: `http://127.0.0.1:${goPort}` }),
  ];
  gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
  // The one setting the app changes when it moves from Access.
  env.TEAM_DOMAIN = gh.url;
  agent = await tokensFor(gh.url, { scope: 'read' });
  if (!goMissing) goOrigin = await startGoOrigin({ TEAM_DOMAIN: `${gh.url}/go`, POLICY_AUD: TAG, ADDR: `127.0.0.1:${goPort}` });
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
  await goOrigin?.stop();
});

/** Builds Cloudflare's Go example in GOPATH mode and runs it; resolves once it listens. */
async function startGoOrigin(settings) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-access-go-'));
  const binary = join(dir, 'origin');
  execFileSync('go', ['build', '-o', binary, join(ROOT, 'tests', 'e2e', 'access-origin', 'go', 'main.go')], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(dir, 'cache'), GOFLAGS: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 120_000,
  });
  const child = spawn(binary, [], { env: { ...process.env, ...settings }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  for (let i = 0; ; i += 1) {
    try {
      await rawFetch(`http://${settings.ADDR}/`);
      break;
    } catch (error) {
      if (i === 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const bearer = { authorization: () => `Bearer ${agent.tokens.access_token}` };
const lastReceived = () => origin.received.at(-1);

describe('an app validating Access JWTs, behind gatehouse', () => {
  test('an agent reaches it; the token carries Access claims and the agent under gatehouse_*', async () => {
    const res = await rawFetch(`${gh.url}/whoami`, { headers: { authorization: bearer.authorization() } });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const { alg, email, header_email, claims } = JSON.parse(body);
    assert.equal(alg, 'RS256');
    assert.equal(email, DEMO.email);
    assert.equal(header_email, DEMO.email);
    assert.deepEqual(claims.aud, [TAG]);
    assert.equal(claims.iss, gh.url);
    assert.equal(claims.type, 'app');
    assert.equal(claims.sub, `local:${DEMO.email}`);
    assert.match(claims.identity_nonce, /^[0-9a-f]{32}$/);
    assert.equal(claims.nbf, claims.iat);
    assert.ok(claims.exp > claims.iat);
    assert.equal(claims.gatehouse_client_id, agent.client.client_id);
    assert.equal(claims.gatehouse_scope, 'read');
    assert.ok(claims.gatehouse_grant_id);
    const received = lastReceived().headers;
    assert.equal(received['gatehouse-assertion'], undefined, 'Access headers instead of the ES256 assertion');
    assert.equal(received['gatehouse-email'], DEMO.email, 'the plain headers stay');
    assert.ok(!(received.cookie ?? '').includes('CF_Authorization'), 'no cookie for an agent');
  });

  test('a browser session: the header, the CF_Authorization cookie and get-identity', async () => {
    const browser = new Browser(gh.url);
    const login = await browser.fetch('/whoami?cookie=1', nav);
    assert.equal(login.status, 302);
    await personAt(gh.url, new URL(login.headers.get('location'), gh.url), {}, browser);
    for (const path of ['/whoami?cookie=1', '/whoami']) {
      const res = await browser.fetch(path, nav);
      const body = await res.text();
      assert.equal(res.status, 200, `${path}: ${body}`);
      const { email, claims } = JSON.parse(body);
      assert.equal(email, DEMO.email);
      assert.equal(claims.gatehouse_client_id, undefined, 'a person, no agent');
    }
    assert.ok(!browser.cookies.has('CF_Authorization'), 'the browser never holds the token');
    const cookie = lastReceived().headers.cookie;
    assert.ok(!cookie.includes('__Host-gatehouse'), cookie);
    const identity = await browser.fetch('/cdn-cgi/access/get-identity');
    assert.equal(identity.status, 200);
    assert.equal(identity.headers.get('cache-control'), 'no-store');
    const person = await identity.json();
    assert.equal(person.email, DEMO.email);
    assert.equal(person.id, `local:${DEMO.email}`);
    assert.equal(person.is_warp, false);
    assert.equal((await rawFetch(`${gh.url}/cdn-cgi/access/get-identity`)).status, 401, 'no session');
    const bearerOnly = await rawFetch(`${gh.url}/cdn-cgi/access/get-identity`, { headers: { authorization: bearer.authorization() } });
    assert.equal(bearerOnly.status, 401, 'a bearer token is no browser session');
  });

  test('the certs document has Access\'s shape; public_cert verifies the token with node:crypto', async () => {
    const res = await rawFetch(`${gh.url}/cdn-cgi/access/certs`);
    assert.equal(res.status, 200);
    const certs = await res.json();
    assert.deepEqual(Object.keys(certs).sort(), ['keys', 'public_cert', 'public_certs']);
    const [key] = certs.keys;
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.use, 'sig');
    assert.equal(certs.public_cert.kid, key.kid);
    assert.deepEqual(certs.public_certs[0], certs.public_cert);
    const cert = new X509Certificate(certs.public_cert.cert);
    assert.ok(cert.verify(cert.publicKey), 'self-signed by its own key');
    assert.equal(cert.publicKey.export({ format: 'jwk' }).n, key.n);
    await rawFetch(`${gh.url}/whoami`, { headers: { authorization: bearer.authorization() } });
    const jwt = lastReceived().headers['cf-access-jwt-assertion'];
    const [header, payload, signature] = jwt.split('.');
    assert.equal(JSON.parse(Buffer.from(header, 'base64url')).kid, key.kid);
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${header}.${payload}`);
    assert.ok(verifier.verify(cert.publicKey, Buffer.from(signature, 'base64url')));
  });

  test('Access headers and cookies a client sends never reach the origin, in any spelling', async () => {
    const forged = 'eyJhbGciOiJub25lIn0.eyJlbWFpbCI6Im1hbGxvcnlAZXhhbXBsZS5jb20ifQ.';
    const res = await rawFetch(`${gh.url}/whoami?cookie=1`, {
      headers: {
        authorization: bearer.authorization(),
        'cf-access-jwt-assertion': forged,
        'Cf_Access_Authenticated_User_Email': 'mallory@example.com',
        'cf-access-client-id': 'svc.access',
        cookie: `theme=dark; CF_Authorization=${forged}`,
      },
    });
    assert.equal(res.status, 403, 'an agent gets no cookie, and the forged one is gone');
    assert.equal(await res.text(), 'missing required cf authorization token');
    const received = lastReceived().headers;
    assert.notEqual(received['cf-access-jwt-assertion'], forged);
    assert.equal(received['cf-access-authenticated-user-email'], DEMO.email);
    assert.equal(received.cf_access_authenticated_user_email, undefined);
    assert.equal(received['cf-access-client-id'], undefined);
    assert.equal(received.cookie, 'theme=dark');
  });

  test('the app refuses what Access would not vouch for: another audience, or no gatehouse', async () => {
    env.POLICY_AUD = 'another-application-tag';
    try {
      const res = await rawFetch(`${gh.url}/whoami`, { headers: { authorization: bearer.authorization() } });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    } finally {
      env.POLICY_AUD = TAG;
    }
    const direct = await rawFetch(`${origin.url}/whoami`, { headers: { 'cf-access-jwt-assertion': 'e30.e30.' } });
    assert.equal(direct.status, 403, 'a token gatehouse did not sign');
  });
});

describe('Cloudflare\'s Go example (go-oidc), behind gatehouse under /go', { skip: goMissing }, () => {
  test('an agent reaches it: go-oidc verifies issuer, audience tag, expiry and the RS256 signature', async () => {
    const { tokens } = await tokensFor(`${gh.url}/go`, { scope: 'read' });
    const res = await rawFetch(`${gh.url}/go/anything`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const answer = JSON.parse(body);
    assert.equal(answer.issuer, `${gh.url}/go`);
    assert.deepEqual(answer.audience, [TAG]);
    assert.equal(answer.claims.email, DEMO.email);
    assert.equal(answer.claims.type, 'app');
  });

  test('it refuses a request without gatehouse, and the root app\'s token (another issuer)', async () => {
    const direct = await rawFetch(`http://127.0.0.1:${goPort}/`);
    assert.equal(direct.status, 401);
    await rawFetch(`${gh.url}/whoami`, { headers: { authorization: bearer.authorization() } });
    const rootToken = lastReceived().headers['cf-access-jwt-assertion'];
    const replayed = await rawFetch(`http://127.0.0.1:${goPort}/`, { headers: { 'cf-access-jwt-assertion': rootToken } });
    assert.equal(replayed.status, 401);
    assert.match(await replayed.text(), /issued by a different provider/);
  });
});
