// Two apps on one host, told apart by path prefix: each is its own issuer
// (`<origin>/wiki`), discovered by RFC 8414 and RFC 9728 path insertion, and a token of one is
// refused by the other. Driven by the MCP TypeScript SDK, unmodified.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO, REDIRECT, personAt } from './support/oauth.mjs';
import { startOrigin } from './support/origin.mjs';

let gh;
let origin;
before(async () => {
  origin = await startOrigin();
  const app = (name, prefix) => ({
    name, host: '*', path_prefix: prefix, scopes: { read: 'Read' }, default_scopes: ['read'],
    policy: { allow_domains: ['example.com'] }, origin: origin.url,
  });
  gh = await startGatehouse({ vars: { APPS: JSON.stringify([app('Wiki', '/wiki'), app('Files', '/files')]) } });
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
});

class Storage {
  redirected;
  #client;
  #tokens;
  #verifier;
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: 'prefix agent', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(tokens) { this.#tokens = tokens; }
  redirectToAuthorization(url) { this.redirected = url; }
  saveCodeVerifier(verifier) { this.#verifier = verifier; }
  codeVerifier() { return this.#verifier; }
}

test('an app under /wiki is discovered, authorized and reached; /files refuses its token', async () => {
  const challenge = await fetch(`${gh.url}/wiki/mcp`);
  assert.equal(challenge.status, 401);
  assert.match(challenge.headers.get('www-authenticate'), new RegExp(`resource_metadata="${gh.url}/\\.well-known/oauth-protected-resource/wiki"`));
  const metadata = await (await fetch(`${gh.url}/.well-known/oauth-authorization-server/wiki`)).json();
  assert.equal(metadata.issuer, `${gh.url}/wiki`);
  assert.equal(metadata.token_endpoint, `${gh.url}/wiki/oauth/token`);

  const host = new Storage();
  const serverUrl = `${gh.url}/wiki/mcp`;
  assert.equal(await auth(host, { serverUrl }), 'REDIRECT');
  const authorization = new URL(host.redirected);
  assert.equal(authorization.pathname, '/wiki/oauth/authorize');
  const callback = await personAt(gh.url, authorization);
  assert.equal(callback.searchParams.get('iss'), `${gh.url}/wiki`);
  assert.equal(await auth(host, { serverUrl, authorizationCode: callback.searchParams.get('code') }), 'AUTHORIZED');
  const bearer = { authorization: `Bearer ${host.tokens().access_token}` };

  const wiki = await fetch(`${gh.url}/wiki/echo`, { headers: bearer });
  assert.equal(wiki.status, 200);
  const seen = await wiki.json();
  assert.equal(seen.path, '/wiki/echo', 'the origin sees the full path');
  assert.equal(seen.headers['gatehouse-email'], DEMO.email);

  const files = await fetch(`${gh.url}/files/echo`, { headers: bearer });
  assert.equal(files.status, 401);
  assert.match(files.headers.get('www-authenticate'), /error="invalid_token"/);
  assert.equal((await fetch(`${gh.url}/elsewhere`)).status, 404, 'no app serves the rest of the host');
});
