// The MCP TypeScript SDK (@modelcontextprotocol/sdk), unmodified, as an MCP host uses it, against
// a real MCP server behind gatehouse: the SDK's Client with its StreamableHTTPClientTransport and an
// OAuthClientProvider follows the 401 through discovery (RFC 9728, RFC 8414), registration
// (RFC 7591), the person's login and consent in a real browser (support/chromium.mjs), PKCE and the
// code exchange; calls a tool; refreshes when its access token is refused; and steps up on
// `403 insufficient_scope` (RFC 6750 §3.1, MCP 2025-11-25 "Scope Challenge Handling") to reach a
// tool that needs `write`. The MCP server is the SDK's own McpServer with its
// StreamableHTTPServerTransport (stateless), on 127.0.0.1, as gatehouse's origin.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { startChromium } from './support/chromium.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO } from './support/oauth.mjs';

const REDIRECT = 'http://127.0.0.1:33418/callback';

let gh;
let browser;
let mcp;
let mcpUrl;

/** The MCP server: one tool per path, each saying who gatehouse says the caller is. */
function mcpServer(tool) {
  const server = new McpServer({ name: 'gatehouse-e2e', version: '1.0.0' });
  // A tool without an input schema gets only `extra` (the request context).
  server.registerTool(tool, { description: `The ${tool} tool` }, async (extra) => {
    const headers = extra.requestInfo?.headers ?? {};
    return { content: [{ type: 'text', text: JSON.stringify({ tool, email: headers['gatehouse-email'], client: headers['gatehouse-client-id'] }) }] };
  });
  return server;
}

before(async () => {
  mcp = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks)) : undefined;
    const server = mcpServer(req.url.startsWith('/admin/') ? 'write_note' : 'read_notes');
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close();
      server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  await new Promise((resolve) => mcp.listen(0, '127.0.0.1', resolve));
  mcpUrl = `http://127.0.0.1:${mcp.address().port}`;
  const apps = [{
    name: 'Notes', host: '*', scopes: { read: 'Read notes', write: 'Change notes' }, default_scopes: ['read'],
    policy: { allow_domains: ['example.com'] }, origin: mcpUrl,
    // MCP's Streamable HTTP sends every call as a POST: the scope is chosen by path.
    routes: [
      { methods: ['POST', 'GET', 'DELETE'], path: '/admin/**', scope: 'write' },
      { methods: ['POST', 'GET', 'DELETE'], path: '/**', scope: 'read' },
    ],
  }];
  [gh, browser] = await Promise.all([startGatehouse({ vars: { APPS: JSON.stringify(apps) } }), startChromium()]);
});
after(async () => {
  await Promise.all([gh?.stop(), browser?.stop()]);
  mcp?.closeAllConnections();
  mcp?.close();
});

/** The storage an MCP host keeps for one server: the SDK's OAuthClientProvider, in memory. */
class HostStorage {
  authorizations = [];
  #client;
  #tokens;
  #verifier;
  #discovery;
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: 'MCP TypeScript SDK host', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  state() { return `st-${this.authorizations.length}`; }
  clientInformation() { return this.#client; }
  saveClientInformation(info) { this.#client = info; }
  tokens() { return this.#tokens; }
  saveTokens(tokens) { this.#tokens = tokens; }
  redirectToAuthorization(url) { this.authorizations.push(new URL(url)); }
  saveCodeVerifier(verifier) { this.#verifier = verifier; }
  codeVerifier() { return this.#verifier; }
  saveDiscoveryState(state) { this.#discovery = state; }
  discoveryState() { return this.#discovery; }
  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') this.#client = undefined;
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.#verifier = undefined;
  }
  /** Spoils the stored access token, as its expiry would. */
  expireAccessToken() { this.#tokens = { ...this.#tokens, access_token: `${this.#tokens.access_token.slice(0, -4)}AAAA` }; }
}

/** The person approves the authorization the SDK opened; returns the code and the consent page text. */
async function personApproves(url) {
  const page = await browser.page({ captureRedirectsFrom: gh.url });
  try {
    await page.goto(url);
    if (await page.evaluate('!!document.querySelector("input[name=password]")')) {
      await page.fill({ email: DEMO.email, password: DEMO.password });
      await page.click('form button[type=submit]');
    }
    const consent = await page.text();
    assert.match(consent, /Allow .+ to act for you\?/, consent);
    await page.click('button[value=approve]');
    const { location } = await page.redirected();
    const callback = new URL(location);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
    return { code: callback.searchParams.get('code'), consent };
  } finally {
    await page.close();
  }
}

/** Requests the SDK sends, for the assertions: method, path, status and the challenge. */
function recordingFetch(log) {
  return async (url, init) => {
    const res = await fetch(url, init);
    log.push({ method: init?.method ?? 'GET', path: new URL(url).pathname, status: res.status, challenge: res.headers.get('www-authenticate') });
    return res;
  };
}

/** Connects an SDK client to `path`, playing the person whenever the SDK sends them to authorize. */
async function connect(host, path, log) {
  const url = new URL(path, gh.url);
  for (let attempt = 0; attempt < 2; attempt++) {
    const transport = new StreamableHTTPClientTransport(url, { authProvider: host, fetch: recordingFetch(log) });
    const client = new Client({ name: 'gatehouse-e2e-host', version: '1.0.0' });
    try {
      await client.connect(transport);
      return { client, transport };
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      const { code } = await personApproves(host.authorizations.at(-1));
      await transport.finishAuth(code);
    }
  }
  throw new Error(`could not connect to ${url}`);
}

const textOf = (result) => JSON.parse(result.content[0].text);

describe('the MCP TypeScript SDK against an MCP server behind gatehouse', () => {
  const host = new HostStorage();
  const log = [];
  let first;

  test('follows the 401 to registration, consent and a token, then calls a tool as the person', async () => {
    const { client } = await connect(host, '/mcp', log);
    assert.equal(host.authorizations.length, 1);
    const authorization = host.authorizations[0].searchParams;
    assert.equal(authorization.get('code_challenge_method'), 'S256');
    assert.equal(authorization.get('scope'), 'read', 'the scope of the 401 challenge');
    assert.ok(authorization.get('resource').startsWith(gh.url), authorization.get('resource'));
    assert.ok(log.some((r) => r.method === 'POST' && r.path === '/oauth/register' && r.status === 201), JSON.stringify(log));
    first = host.tokens();
    assert.equal(first.scope, 'read');
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name), ['read_notes']);
    const seen = textOf(await client.callTool({ name: 'read_notes', arguments: {} }));
    assert.equal(seen.email, DEMO.email, 'the MCP server sees the person gatehouse vouches for');
    assert.equal(seen.client, host.clientInformation().client_id);
    await client.close();
  });

  test('refreshes when its access token is refused, and the refresh token rotates', async () => {
    host.expireAccessToken();
    const before = log.length;
    const { client } = await connect(host, '/mcp', log);
    assert.equal(host.authorizations.length, 1, 'no new authorization: a refresh');
    assert.ok(log.slice(before).some((r) => r.path === '/oauth/token' && r.status === 200), JSON.stringify(log.slice(before)));
    assert.notEqual(host.tokens().refresh_token, first.refresh_token, 'rotated');
    assert.equal(textOf(await client.callTool({ name: 'read_notes', arguments: {} })).email, DEMO.email);
    await client.close();
  });

  test('steps up on 403 insufficient_scope to a token with write, after the person approves again', async () => {
    const before = log.length;
    // The SDK reacts to the 403 by refreshing (which keeps the granted scope, RFC 6749 §6) and
    // gives up when the same challenge comes back; the host then drops its tokens so that the
    // next attempt authorizes anew with the challenge's scope.
    const held = new StreamableHTTPClientTransport(new URL('/admin/mcp', gh.url), { authProvider: host, fetch: recordingFetch(log) });
    await assert.rejects(new Client({ name: 'gatehouse-e2e-host', version: '1.0.0' }).connect(held), (error) => error.code === 403);
    const refused = log.slice(before).find((r) => r.status === 403);
    assert.match(refused.challenge, /^Bearer .*error="insufficient_scope"/);
    assert.match(refused.challenge, /scope="write"/);
    host.invalidateCredentials('tokens');
    const { client } = await connect(host, '/admin/mcp', log);
    assert.equal(host.authorizations.length, 2, 'one more authorization');
    assert.equal(host.authorizations[1].searchParams.get('scope'), 'write');
    assert.match(host.tokens().scope, /\bwrite\b/);
    assert.equal(textOf(await client.callTool({ name: 'write_note', arguments: {} })).email, DEMO.email);
    await client.close();
    assert.ok(!log.some((r) => r.status >= 500), JSON.stringify(log));
  });
});
