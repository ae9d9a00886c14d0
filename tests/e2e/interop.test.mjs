// Unmodified third-party clients against gatehouse: the MCP TypeScript SDK's OAuth client (as
// MCP hosts use it) and panva's oauth4webapi (a strict RFC-conformant client that also validates
// RFC 9068 access tokens the way a resource server would).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import * as oauth from 'oauth4webapi';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO, REDIRECT, personAt } from './support/oauth.mjs';

let gh;
before(async () => (gh = await startGatehouse()));
after(() => gh?.stop());

/** The storage an MCP host keeps for one server, as the SDK's OAuthClientProvider. */
class McpHostStorage {
  redirected = undefined;
  #client = undefined;
  #tokens = undefined;
  #verifier = undefined;
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: 'MCP SDK host', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { return 'mcp-state'; }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(tokens) { this.#tokens = tokens; }
  redirectToAuthorization(url) { this.redirected = url; }
  saveCodeVerifier(verifier) { this.#verifier = verifier; }
  codeVerifier() { return this.#verifier; }
}

describe('the MCP TypeScript SDK', () => {
  test('discovers, registers, sends the person through login and consent, and gets tokens', async () => {
    const host = new McpHostStorage();
    const serverUrl = `${gh.url}/mcp`;
    assert.equal(await auth(host, { serverUrl }), 'REDIRECT');
    assert.ok(host.clientInformation().client_id, 'registered by RFC 7591');
    const authorization = new URL(host.redirected);
    assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorization.searchParams.get('resource'), serverUrl);
    const callback = await personAt(gh.url, authorization);
    assert.equal(callback.searchParams.get('state'), 'mcp-state');
    assert.equal(await auth(host, { serverUrl, authorizationCode: callback.searchParams.get('code') }), 'AUTHORIZED');
    const first = host.tokens();
    assert.equal(first.token_type, 'Bearer');
    assert.ok(first.refresh_token);
    // With tokens stored, the SDK refreshes instead of asking the person again.
    assert.equal(await auth(host, { serverUrl }), 'AUTHORIZED');
    assert.notEqual(host.tokens().refresh_token, first.refresh_token, 'rotated');
  });
});

describe('oauth4webapi', () => {
  const insecure = { [oauth.allowInsecureRequests]: true }; // wrangler dev serves http://127.0.0.1

  test('runs discovery, registration, the code flow with iss validation, refresh and revocation', async () => {
    const issuer = new URL(gh.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token'] }, insecure),
    );
    const client = { client_id: registered.client_id };
    const clientAuth = oauth.ClientSecretBasic(registered.client_secret);
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: client.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'read write', state, code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', resource: gh.url })) {
      url.searchParams.set(k, v);
    }
    const callback = await personAt(gh.url, url);
    // Checks state and RFC 9207 iss against the discovered issuer.
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as, client, await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT, verifier, insecure),
    );
    assert.equal(tokens.scope, 'read write');

    // A resource server's RFC 9068 validation: typ, signature against jwks_uri, iss, aud, exp.
    const request = new Request(`${gh.url}/api`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, gh.url, insecure);
    assert.equal(claims.email, DEMO.email);
    assert.equal(claims.client_id, client.client_id);

    const refreshed = await oauth.processRefreshTokenResponse(
      as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, insecure),
    );
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token, insecure));
    const after = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, insecure);
    await assert.rejects(oauth.processRefreshTokenResponse(as, client, after), (e) => e.error === 'invalid_grant');
  });
});
