// gatehouse's pages as a person sees them, in a real headless chromium at desktop width: the
// login page of an agent's authorization says which agent is asking, scope names never break
// mid-word, the device code field is laid out like the other fields, the demo app links to the
// connected agents, and a mistyped gatehouse link shows a page instead of JSON. Screenshots of
// each page are kept in $GATEHOUSE_SCREENSHOTS (default: a temporary directory) for a person to
// look at.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startChromium } from './support/chromium.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { DEMO, authorizeUrl, pkce, register } from './support/oauth.mjs';

// Long scope names, several to a line: where a browser would break one mid-word if allowed.
const SCOPES = Object.fromEntries(
  ['documents.read.all', 'documents.write.all', 'calendars.read.shared', 'calendars.write.shared',
    'mailboxes.read.everything', 'contacts.read.directory', 'reports.export.quarterly',
    'admin.audit.read', 'tickets.comment.create', 'invoices.approve.pending']
    .map((s) => [s, `Allows ${s}`]),
);
const APPS = [{
  name: 'Demo app', host: '*', scopes: SCOPES, default_scopes: ['documents.read.all'],
  policy: { allow_domains: ['example.com'] },
}];

/**
 * Scope names (the `<code>` elements of a `.scopes` list) that the layout split across lines.
 * Long identifiers elsewhere (a client id) may wrap: they would overflow the page otherwise.
 */
const SPLIT_WORDS = `[...document.querySelectorAll('.scopes code')].flatMap((el) => {
  const split = [];
  for (const node of el.childNodes) {
    if (node.nodeType !== Node.TEXT_NODE) continue;
    for (const m of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if (range.getClientRects().length > 1) split.push(m[0]);
    }
  }
  return split;
})`;

describe('pages in a real browser', () => {
  let gh;
  let chromium;
  let shots;
  before(async () => {
    shots = process.env.GATEHOUSE_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'gatehouse-pages-')));
    await mkdir(shots, { recursive: true });
    gh = await startGatehouse({ vars: { APPS: JSON.stringify(APPS) } });
    chromium = await startChromium();
  });
  after(async () => {
    await chromium?.stop();
    await gh?.stop();
  });

  async function shot(page, name) {
    await writeFile(join(shots, `${name}.png`), await page.screenshot());
  }

  test('an agent authorization is named on the login page; scopes never break mid-word', async () => {
    const client = await register(gh.url, { client_name: 'Claude Code (official)' });
    const { challenge } = pkce();
    const page = await chromium.page({ captureRedirectsFrom: gh.url });
    await page.resize(1280, 900);
    await page.goto(authorizeUrl(gh.url, client, { challenge, scope: Object.keys(SCOPES).join(' ') }));
    await shot(page, 'login-agent');
    const login = await page.text();
    assert.match(login, /An agent, Claude Code \(official\) \(name not verified\), asks to act for you at Demo app/);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await shot(page, 'consent');
    assert.match(await page.text(), /name not verified/);
    assert.equal(await page.evaluate(`document.querySelectorAll('.scopes code').length`), 10);
    assert.deepEqual(await page.evaluate(SPLIT_WORDS), [], 'no scope split on the consent page');
    await page.click('button[value=approve]');
    await page.redirected();
    await page.goto(`${gh.url}/.gatehouse/agents`);
    await shot(page, 'agents');
    assert.match(await page.text(), /Claude Code \(official\)/);
    assert.equal(await page.evaluate(`document.querySelectorAll('.scopes code').length`), 10);
    assert.deepEqual(await page.evaluate(SPLIT_WORDS), [], 'no scope split on the connected agents page');
    // The demo app links to that page.
    await page.goto(`${gh.url}/`);
    await shot(page, 'demo');
    const href = await page.evaluate(`[...document.querySelectorAll('a')].find((a) => a.textContent === 'connected agents')?.getAttribute('href')`);
    assert.equal(href, '/.gatehouse/agents');
    // The device code field spans the form like the login fields do.
    await page.goto(`${gh.url}/.gatehouse/device`);
    await shot(page, 'device');
    const ratio = await page.evaluate(`(() => { const i = document.querySelector('input[name=user_code]'); return i.getBoundingClientRect().width / i.form.getBoundingClientRect().width; })()`);
    assert.ok(ratio > 0.95, `the device code field is ${Math.round(ratio * 100)}% of the form's width`);
    await page.close();
  });

  test('a mistyped gatehouse link shows a page to a browser and JSON to a client', async () => {
    const page = await chromium.page();
    await page.goto(`${gh.url}/.gatehouse/agnets`);
    await shot(page, 'not-found');
    assert.match(await page.text(), /No such page/);
    assert.equal(await page.evaluate(`document.querySelector('a').getAttribute('href')`), '/');
    await page.close();
    // node:http, since fetch() sets its own Sec-Fetch-Mode (cors).
    const browser = await new Promise((resolve, reject) => {
      http.get(`${gh.url}/.gatehouse/agnets`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } }, (res) => {
        res.resume();
        resolve(res);
      }).on('error', reject);
    });
    assert.equal(browser.statusCode, 404);
    assert.match(browser.headers['content-type'], /text\/html/);
    assert.match(browser.headers['content-security-policy'], /frame-ancestors 'none'/);
    const api = await fetch(`${gh.url}/.gatehouse/agnets`);
    assert.equal(api.status, 404);
    assert.deepEqual(await api.json(), { error: 'invalid_request', error_description: 'no such endpoint' });
  });
});
