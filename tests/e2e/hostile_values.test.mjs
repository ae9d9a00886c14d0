// Hostile values on every page, in a real headless chromium (issue 19). A client registers with
// a name and a redirect URI built to break out of HTML; the operator's app name, a scope name and
// the scope descriptions carry the same, and so does the person's email (a local account, who is
// also the admin). The person walks the login page of the agent's authorization, consent,
// connected agents, the device pages, the demo app and every admin console page (the audit page
// shows the registration's detail, with the client's name in it); a second person, whom the
// app's policy does not admit, gets the `403` page naming them and the app.
//
// The page's Content-Security-Policy is switched off in this browser (DevTools'
// Page.setBypassCSP; a control on the first page proves an inline handler would run), so what
// keeps each value inert here is the templates' escaping alone. On every page: no script or
// handler ran (`window.__pwned` stays unset), no element came from a value, no link or form
// points at a `javascript:` URL, the title is the page's own, and each value shows literally.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startChromium } from './support/chromium.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO, REDIRECT, authorizeUrl, pkce } from './support/oauth.mjs';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * A value that tries a script element, an attribute break-out into a handler, and a `javascript:`
 * URL, each setting `window.__pwned` to `tag`; 94 characters, under registration's 100 for a name.
 */
const hostile = (tag) => `"'></title><script>__pwned='${tag}'</script><img src=x onerror="__pwned='${tag}'">javascript:__pwned='${tag}'`;

const CLIENT_NAME = hostile('c');
const APP_NAME = hostile('a');
const DESCRIPTION = hostile('d');
// RFC 6749 §3.3: a scope token has no space, `"` or `\`; this one still tries an element.
const SCOPE = `'><svg/onload=__pwned='s'>`;
// Local accounts are lowercased; the domain keeps the demo policy's example.com.
const EMAIL = `${hostile('e')}@example.com`.toLowerCase();
// A person the demo policy does not admit (not at example.com): the `403` page names them and the app.
const OUTSIDER = `${hostile('o')}@elsewhere.example`.toLowerCase();
const HASH = 'pbkdf2-sha256:100000:KZzd3ULarogF1Gf7kL2G_w:apRgD_oVfI2hAgzAeKEw-ub9l5c83LQ_jxObpFfn7y4'; // DEMO.password
const APPS = [{
  name: APP_NAME, host: '*', scopes: { read: DESCRIPTION, [SCOPE]: DESCRIPTION }, default_scopes: ['read'],
  policy: { allow_domains: ['example.com'] },
}];

/** What a page holds that it should not: a marker a script set, elements a value brought, `javascript:` links. */
const FOUND = `({
  pwned: window.__pwned ?? null,
  planted: [...document.querySelectorAll('script, img, svg, iframe, object, embed, [onerror], [onload], [style]')].map((el) => el.outerHTML),
  javascript: [...document.querySelectorAll('[href], [action], [src], [formaction]')]
    .flatMap((el) => ['href', 'action', 'src', 'formaction'].map((name) => el.getAttribute(name)))
    .filter((url) => url !== null && /^\\s*javascript:/i.test(url)),
  title: document.title,
})`;

describe('hostile values render inert on every page', () => {
  let gh;
  let chromium;
  let page;
  before(async () => {
    gh = await startGatehouse({
      vars: {
        APPS: JSON.stringify(APPS),
        LOCAL_ACCOUNTS: JSON.stringify({ [EMAIL]: HASH, [OUTSIDER]: HASH }),
        ADMINS: JSON.stringify({ allow_emails: [EMAIL] }),
      },
    });
    chromium = await startChromium();
    page = await chromium.page({ captureRedirectsFrom: gh.url });
    await page.bypassCsp();
  });
  after(async () => {
    await page?.close();
    await chromium?.stop();
    await gh?.stop();
  });

  /** The page now shown holds every value in `shown` as text, and nothing they tried. */
  async function inert(where, shown) {
    const found = await page.evaluate(FOUND);
    assert.equal(found.pwned, null, `${where}: a script ran`);
    assert.deepEqual(found.planted, [], `${where}: a value became an element`);
    assert.deepEqual(found.javascript, [], `${where}: a link or form goes to javascript:`);
    assert.match(found.title, / · gatehouse$/, `${where}: the title is the page's own`);
    const text = await page.text();
    for (const value of shown) assert.ok(text.includes(value), `${where}: ${JSON.stringify(value)} is not shown as text:\n${text}`);
  }

  test('an agent authorization, consent, connected agents, the device pages, the demo app and the console', async () => {
    // RFC 3986 leaves a redirect URI no `"`, `<` or `>` (registration refuses them); its query
    // still tries a single-quoted attribute.
    const redirect = `${REDIRECT}?next='onmouseover='__pwned=1`;
    const registered = await fetch(`${gh.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: CLIENT_NAME,
        redirect_uris: [redirect],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
      }),
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    const client = await registered.json();
    assert.equal(client.client_name, CLIENT_NAME);

    // The login page of an agent's authorization names the agent and the app.
    const { challenge } = pkce();
    await page.goto(authorizeUrl(gh.url, client, { challenge, redirect, scope: `read ${SCOPE}` }));
    // Control: with the CSP off, an inline handler on this page runs; the checks below see escaping alone.
    await page.evaluate(`(() => { const img = document.createElement('img'); img.setAttribute('onerror', 'window.__probe = 1'); img.src = 'x:'; document.body.append(img); })()`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await page.evaluate('window.__probe ?? null'), 1, 'the CSP is bypassed: an inline handler runs');
    await page.evaluate('document.querySelectorAll("img").forEach((img) => img.remove())');
    await inert('login', [CLIENT_NAME, APP_NAME]);

    // The browser would refuse this address in an email field; the account exists all the same.
    await page.fill({ email: EMAIL, password: DEMO.password });
    await page.evaluate('document.querySelector("input[name=email]").form.noValidate = true');
    await page.click('button[type=submit]');
    await inert('consent', [CLIENT_NAME, APP_NAME, DESCRIPTION, SCOPE, EMAIL]);
    await page.click('button[value=approve]');
    const back = new URL((await page.redirected()).location);
    assert.ok(back.searchParams.get('code'));
    assert.equal(`${back.origin}${back.pathname}?next=${back.searchParams.get('next')}`, redirect, 'the code goes to the URI as registered');

    await page.goto(`${gh.url}/.gatehouse/agents`);
    await inert('connected agents', [CLIENT_NAME, APP_NAME, SCOPE, EMAIL]);

    // The device grant (RFC 8628): the person types the code, decides, and sees the outcome.
    const started = await fetch(`${gh.url}/oauth/device_authorization`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: client.client_id, scope: `read ${SCOPE}` }),
    });
    assert.equal(started.status, 200, await started.clone().text());
    const { verification_uri_complete: complete } = await started.json();
    await page.goto(complete);
    await inert('device code entry', [APP_NAME, EMAIL]);
    await page.click('button[type=submit]');
    await inert('device consent', [CLIENT_NAME, APP_NAME, DESCRIPTION, SCOPE, EMAIL]);
    await page.click('button[value=approve]');
    await inert('device connected', [APP_NAME]);

    // The demo app shows the identity an origin receives.
    await page.goto(`${gh.url}/`);
    await inert('demo app', [EMAIL]);

    // The admin console: every page, and both confirmations.
    const admin = `${gh.url}/.gatehouse/admin/console`;
    const subject = `local:${EMAIL}`;
    await page.goto(`${admin}/grants?state=any&app=all`);
    await inert('console grants', [APP_NAME, EMAIL, subject, SCOPE]);
    await page.goto(`${admin}/clients`);
    await inert('console agents', [CLIENT_NAME, EMAIL]);
    await page.goto(`${admin}/clients?confirm=disable&client_id=${encodeURIComponent(client.client_id)}`);
    await inert('console agents, confirming a disable', [`Disable ${CLIENT_NAME}?`]);
    await page.goto(`${admin}/people`);
    await inert('console people', [EMAIL, subject]);
    await page.goto(`${admin}/people?confirm=${encodeURIComponent(subject)}`);
    await inert('console people, confirming a cut-off', [`Cut ${EMAIL} off?`]);
    await page.goto(`${admin}/audit`);
    // The registration's detail is JSON: quotes in it are backslashed; the rest shows as sent.
    await inert('console audit', [subject, 'client_registered', `<script>__pwned='c'</script>`]);
    await page.goto(`${admin}/audit?subject=${encodeURIComponent(hostile('f'))}`);
    await inert('console audit, a hostile search', []);
    assert.equal(await page.evaluate('document.querySelector("input[name=subject]").value'), hostile('f'));
    await page.goto(`${admin}/state`);
    await inert('console state', [EMAIL]);
  });

  test('the page for a person the app does not admit', async () => {
    const outsider = await chromium.page({ captureRedirectsFrom: gh.url });
    await outsider.bypassCsp();
    const shown = page;
    page = outsider;
    try {
      await page.goto(`${gh.url}/`);
      await inert('login', [APP_NAME]);
      await page.fill({ email: OUTSIDER, password: DEMO.password });
      await page.evaluate('document.querySelector("input[name=email]").form.noValidate = true');
      await page.click('button[type=submit]');
      await inert('no access', [APP_NAME, OUTSIDER]);
      assert.match(await page.text(), /does not admit this account/);
    } finally {
      page = shown;
      await outsider.close();
    }
  });
});
