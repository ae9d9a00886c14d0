// The benchmark's reference: Cloudflare's TypeScript library @cloudflare/workers-oauth-provider
// (pinned in the root package.json), configured as one Worker that is both the authorization
// server and its only resource (`OAuthProvider`), on the same paths as gatehouse where it has them.
//
// - /oauth/token, /oauth/register and /.well-known/oauth-authorization-server: the library's own.
// - /api/…: `apiHandler`, reached only with a valid access token; it answers a small JSON document
//   like the benchmark's origin does behind gatehouse. Without a token the library answers 401.
// - /oauth/authorize: `defaultHandler`, with no UI: it parses the request with the library's
//   `parseAuthRequest()` and at once calls `completeAuthorization()` for a fixed user, then
//   redirects, so that the benchmark can prepare codes programmatically.
//
// The library fixes the resource's canonical URL at construction, and `wrangler dev` is started
// on a port chosen at run time, so the provider is constructed once per isolate and origin, from
// the first request's URL (http is accepted on a loopback host).
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';

const PAYLOAD = JSON.stringify({ ok: true, items: [1, 2, 3], note: 'reference bench api' });

const apiHandler = {
  async fetch() {
    return new Response(PAYLOAD, { headers: { 'content-type': 'application/json' } });
  },
};

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== '/oauth/authorize') return new Response('not found', { status: 404 });
    const authRequest = await env.OAUTH_PROVIDER.parseAuthRequest(request);
    const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
      request: authRequest,
      userId: 'alice',
      metadata: { label: 'bench' },
      scope: authRequest.scope,
      props: { userId: 'alice', email: 'alice@example.com' },
      revokeExistingGrants: false, // the benchmark holds many grants of one client at once
    });
    return Response.redirect(redirectTo, 302);
  },
};

const providers = new Map();
function providerFor(origin) {
  let provider = providers.get(origin);
  if (!provider) {
    provider = new OAuthProvider({
      apiRoute: '/api/',
      apiHandler,
      defaultHandler,
      authorizeEndpoint: '/oauth/authorize',
      tokenEndpoint: '/oauth/token',
      clientRegistrationEndpoint: '/oauth/register',
      scopesSupported: ['read'],
      requiredScopes: ['read'],
      resourceMetadata: { resource: `${origin}/api/`, authorization_servers: [origin] },
    });
    providers.set(origin, provider);
  }
  return provider;
}

export default {
  fetch(request, env, ctx) {
    return providerFor(new URL(request.url).origin).fetch(request, env, ctx);
  },
};
