// The admin console's grants page in a real headless chromium, at desktop and 390 px width: an
// admin by the ADMINS policy logs in, filters grants, revokes two checked grants and then one
// (the agents' tokens die at the gate, the others' live on), and a hostile filter value renders
// inert. Without the CSRF token a revocation is refused; the page carries every page's headers.
// The agents page counts each client's people and live grants, spells out what disabling does
// before its form, disables (the tokens die, the client cannot authenticate) and enables again.
// The audit page searches by event and person, names the person and the agent of each agent
// action, and exports JSON lines and CSV; every search the store can run reads an index
// (EXPLAIN QUERY PLAN through the local D1). The state page says whether migration mode is on and lists the held writes.
// The people page lists sessions and agents and cuts a person off (here the admin herself: her
// session ends with the rest). Screenshots are kept in $GATEHOUSE_SCREENSHOTS (default: a temporary directory).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startChromium } from './support/chromium.mjs';
import { ROOT, startGatehouse } from './support/gatehouse.mjs';
import { Browser, DEMO, hiddenFields, personAt, tokenRequest, tokensFor } from './support/oauth.mjs';

const GRANTS = '/.gatehouse/admin/console/grants';
const AGENTS = '/.gatehouse/admin/console/clients';
const PEOPLE = '/.gatehouse/admin/console/people';
const STATE = '/.gatehouse/admin/console/state';
const AUDIT = '/.gatehouse/admin/console/audit';
const ADMINS = JSON.stringify({ allow_emails: [DEMO.email] });
const HOSTILE = `<script>document.title='pwned'</script>"'><img src=x onerror="document.title='pwned'">`;

/** No element wider than the window: nothing scrolls sideways. */
const FITS = 'document.documentElement.scrollWidth <= window.innerWidth';

describe('the admin console', () => {
  let gh;
  let chromium;
  let shots;
  before(async () => {
    shots = process.env.GATEHOUSE_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'gatehouse-console-')));
    await mkdir(shots, { recursive: true });
    gh = await startGatehouse({ vars: { ADMINS } });
    chromium = await startChromium();
  });
  after(async () => {
    await chromium?.stop();
    await gh?.stop();
  });

  async function shot(page, name) {
    await writeFile(join(shots, `${name}.png`), await page.screenshot());
  }

  const live = (tokens) => fetch(`${gh.url}/api/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } }).then((r) => r.status);

  test('an admin filters grants and revokes several, then one, in a real browser', async () => {
    const agents = [await tokensFor(gh.url), await tokensFor(gh.url), await tokensFor(gh.url)];
    const [first, second, third] = agents;
    const page = await chromium.page();
    await page.resize(1280, 900);
    await page.goto(`${gh.url}${GRANTS}`);
    assert.match(await page.text(), /Sign in|Log in|password/i, 'the login page first');
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await shot(page, 'console-grants');
    let text = await page.text();
    assert.match(text, /Grants at /);
    assert.match(text, new RegExp(`signed in as ${DEMO.email}`));
    for (const { client } of agents) assert.ok(text.includes(client.client_id), client.client_id);
    assert.deepEqual(await page.evaluate(`[...document.querySelectorAll('a')].map((a) => a.textContent).filter((t) => t === 'Agents' || t === 'People')`), ['Agents', 'People'], 'links to the other pages');

    // Filter by client: only its grant.
    await page.fill({ client_id: second.client.client_id });
    await page.click('form[method=get] button');
    text = await page.text();
    assert.ok(text.includes(second.client.client_id));
    assert.ok(!text.includes(first.client.client_id));
    assert.match(text, /1 grant\(s\) shown, 1 live/);

    // Revoke many: check the second and third agents' grants.
    await page.goto(`${gh.url}${GRANTS}`);
    const checked = await page.evaluate(`[...document.querySelectorAll('li')].filter((li) =>
      ${JSON.stringify([second.client.client_id, third.client.client_id])}.some((id) => li.textContent.includes(id)))
      .map((li) => { const box = li.querySelector('input[type=checkbox]'); box.checked = true; return box.value; })`);
    assert.equal(checked.length, 2);
    assert.match(await page.text(), /Revoking ends the agent's access at once/, 'the consequences are said before');
    await page.click('#revoke-many button[type=submit]');
    await shot(page, 'console-grants-revoked');
    text = await page.text();
    assert.match(text, /Revoked 2 grants\./);
    assert.equal(await live(first.tokens), 200);
    assert.equal(await live(second.tokens), 401, "a revoked agent's token dies at the gate");
    assert.equal(await live(third.tokens), 401);

    // Revoke one with its own button.
    await page.click(`li form button[type=submit]`);
    assert.match(await page.text(), /Revoked 1 grant\./);
    assert.equal(await live(first.tokens), 401);
    await page.goto(`${gh.url}${GRANTS}?state=revoked`);
    text = await page.text();
    for (const { client } of agents) assert.ok(text.includes(client.client_id));
    assert.match(text, /admin_request/);

    // 390 px: nothing runs off the side.
    await page.resize(390, 844);
    await page.goto(`${gh.url}${GRANTS}?state=any`);
    await shot(page, 'console-grants-390');
    assert.ok(await page.evaluate(FITS), 'the grants page fits 390 px');
    assert.match(await page.text(), /Grants at /);

    // A hostile value echoed in the filter renders inert.
    await page.goto(`${gh.url}${GRANTS}?person=${encodeURIComponent(HOSTILE)}`);
    await shot(page, 'console-grants-hostile');
    assert.equal(await page.evaluate(`document.querySelectorAll('body script, body img').length`), 0);
    assert.notEqual(await page.evaluate('document.title'), 'pwned');
    assert.equal(await page.evaluate(`document.querySelector('input[name=person]').value`), HOSTILE);
    await page.close();
  });

  test('the page has every page header; a revocation without the CSRF token is refused', async () => {
    const { tokens } = await tokensFor(gh.url);
    const anonymous = await fetch(`${gh.url}${GRANTS}`, { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.match(anonymous.headers.get('location'), /\/\.gatehouse\/login\?return_to=/);

    const browser = new Browser(gh.url);
    const back = await personAt(gh.url, new URL(anonymous.headers.get('location'), gh.url), {}, browser);
    assert.equal(back.pathname, GRANTS);
    const res = await browser.fetch(GRANTS);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    const form = html.match(/<form method="post" action="([^"]+)">(.*?)<\/form>/);
    const fields = hiddenFields(form[2]);
    assert.ok(fields.csrf_token && fields.grant_id);

    const post = (body) => browser.fetch(form[1], {
      method: 'POST', body: new URLSearchParams(body), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const forged = await post({ grant_id: fields.grant_id });
    assert.equal(forged.status, 400, 'a cross-site form cannot ride the admin session');
    assert.equal(await live(tokens), 200);
    const nothing = await post({ csrf_token: fields.csrf_token });
    assert.equal(nothing.status, 400);
    const done = await post(fields);
    assert.equal(done.status, 303);
    assert.match(done.headers.get('location'), /revoked=1$/);
    assert.equal(await live(tokens), 401);
  });
  test('the agents page spells out a disable before it, then disables and enables a client', async () => {
    const hostile = await tokensFor(gh.url, { metadata: { client_name: HOSTILE } });
    const { client, tokens } = hostile;
    const page = await chromium.page();
    await page.resize(390, 844);
    await page.goto(`${gh.url}${AGENTS}`);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await shot(page, 'console-agents-390');
    assert.ok(await page.evaluate(FITS), 'the agents page fits 390 px');
    assert.equal(await page.evaluate(`document.querySelectorAll('body script, body img').length`), 0, 'a hostile client name is inert');
    assert.notEqual(await page.evaluate('document.title'), 'pwned');
    const row = await page.evaluate(`[...document.querySelectorAll('li')].find((li) => li.textContent.includes(${JSON.stringify(client.client_id)}))?.innerText`);
    assert.ok(row.includes(HOSTILE), 'the name is shown as text');
    assert.match(row, /1 person\(s\), 1 live grant\(s\)/);

    await page.click(`a[href*="client_id=${encodeURIComponent(client.client_id)}"]`);
    await shot(page, 'console-agents-confirm');
    assert.match(await page.text(), /Its 1 live grant\(s\), held by 1 person\(s\), are revoked now at every app/);
    assert.equal(await live(tokens), 200, 'asking to confirm changes nothing');
    await page.click('form[method=post] button[type=submit]');
    assert.match(await page.text(), /Disabled; 1 grant\(s\) revoked\./);
    assert.equal(await live(tokens), 401);
    const refresh = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal(refresh.status, 401, 'a disabled client cannot authenticate');

    await page.click(`a[href*="client_id=${encodeURIComponent(client.client_id)}"]`);
    assert.match(await page.text(), /stay revoked/);
    await page.click('form[method=post] button[type=submit]');
    assert.match(await page.text(), /Enabled\./);
    const again = await tokenRequest(gh.url, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.client_id });
    assert.equal((await again.json()).error, 'invalid_grant', 'enabled, it authenticates; its revoked grant stays revoked');
    await page.resize(1280, 900);
    await shot(page, 'console-agents');
    await page.close();
  });
  test('the people page lists sessions and agents and cuts a person off everywhere', async () => {
    const { tokens } = await tokensFor(gh.url);
    const page = await chromium.page();
    await page.resize(390, 844);
    await page.goto(`${gh.url}${PEOPLE}`);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await shot(page, 'console-people-390');
    assert.ok(await page.evaluate(FITS), 'the people page fits 390 px');
    const row = await page.evaluate(`[...document.querySelectorAll('li')].find((li) => li.textContent.includes(${JSON.stringify(DEMO.email)}))?.innerText`);
    assert.match(row, /[1-9]\d* open session\(s\), 1 live grant\(s\); last seen 20\d\d-/);

    await page.click('a[href*="confirm="]');
    await shot(page, 'console-people-confirm');
    assert.match(await page.text(), /Their [1-9]\d* open session\(s\) end now/);
    assert.match(await page.text(), /their 1 live grant\(s\), at every app, are revoked/);
    assert.equal(await live(tokens), 200, 'asking to confirm changes nothing');
    await page.click('form[method=post] button[type=submit]');
    assert.equal(await live(tokens), 401, "the person's agents die at the gate");
    assert.ok(await page.evaluate(`!!document.querySelector('input[name=password]')`), 'her own session ended too: the login page');
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    const after = await page.evaluate(`[...document.querySelectorAll('li')].find((li) => li.textContent.includes(${JSON.stringify(DEMO.email)}))?.innerText`);
    assert.match(after, /, 0 live grant\(s\)/, 'signed in again, she holds no grant');
    await page.close();
  });
  test('the state page shows migration mode, the held writes and the health check, at 390 px', async () => {
    const page = await chromium.page();
    await page.resize(390, 844);
    await page.goto(`${gh.url}${STATE}`);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await shot(page, 'console-state-390');
    assert.ok(await page.evaluate(FITS), 'the state page fits 390 px');
    const text = await page.text();
    assert.match(text, /Migration mode is off/);
    assert.match(text, /No write is held/);
    assert.match(text, /Every binding answers\./);
    // The newest migration in the tree, which the harness applied: the schema it reports.
    const newest = (await readdir(join(ROOT, 'migrations'))).filter((f) => f.endsWith('.sql')).sort().at(-1);
    assert.ok(text.includes(`D1 (DB): ok; schema at migration ${newest}`), `${newest} in ${text}`);
    assert.match(text, /KV \(KV\): ok; wrote and read back a probe/);
    assert.match(text, /Queue \(revocations\): ok/);
    assert.equal(await page.evaluate(`document.querySelector('a[href="/healthz"]')?.textContent`), '/healthz');
    await page.close();
  });
  test('the audit page searches, attributes and exports; every search reads an index', async () => {
    const { client } = await tokensFor(gh.url);
    const page = await chromium.page();
    await page.resize(390, 844);
    await page.goto(`${gh.url}${AUDIT}?kind=token_issued`);
    await page.fill({ email: DEMO.email, password: DEMO.password });
    await page.click('button[type=submit]');
    await page.goto(`${gh.url}${AUDIT}?kind=token_issued`);
    await shot(page, 'console-audit-390');
    assert.ok(await page.evaluate(FITS), 'the audit page fits 390 px');
    const items = await page.evaluate(`[...document.querySelectorAll('li')].map((li) => li.innerText)`);
    assert.ok(items.length > 0);
    assert.ok(items.every((t) => t.startsWith('token_issued')), 'only the kind searched');
    assert.ok(items.some((t) => t.includes(`for local:${DEMO.email} by agent ${client.client_id}`)), 'the person and the agent are named');
    const csvHref = await page.evaluate(`[...document.querySelectorAll('a')].find((a) => a.textContent === 'CSV').getAttribute('href')`);
    const jsonlHref = await page.evaluate(`[...document.querySelectorAll('a')].find((a) => a.textContent === 'JSON lines').getAttribute('href')`);
    await page.close();

    const browser = new Browser(gh.url);
    const login = (await fetch(`${gh.url}${AUDIT}`, { redirect: 'manual' })).headers.get('location');
    await personAt(gh.url, new URL(login, gh.url), {}, browser);
    const csv = await browser.fetch(csvHref);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    assert.match(csv.headers.get('content-disposition'), /^attachment; filename="gatehouse-audit\.csv"$/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'id,at,kind,subject,client_id,grant_id,by,source,detail');
    assert.ok(lines.slice(1).every((l) => l.split(',')[2] === '"token_issued"'));
    const jsonl = await browser.fetch(jsonlHref);
    assert.match(jsonl.headers.get('content-type'), /^application\/jsonl/);
    const events = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.kind === 'token_issued' && e.client_id === client.client_id && e.subject === `local:${DEMO.email}`));

    // The store's query (src/store.rs `audit_query`) for each filter the page offers.
    const select = "SELECT id, at, kind, subject, client_id, app, grant_id, source_ip, detail FROM audit_events WHERE app = 'http://127.0.0.1'";
    const order = ' ORDER BY at DESC, id DESC LIMIT 50';
    const searches = {
      app: '',
      person: " AND subject = 'local:alice@example.com'",
      client: ` AND client_id = '${client.client_id}'`,
      event: " AND kind = 'token_issued'",
      'time range': ' AND at >= 1 AND at <= 2000000000',
      'next page': ' AND (at < 2000000000 OR (at = 2000000000 AND id < 10))',
    };
    for (const [filter, where] of Object.entries(searches)) {
      const plan = await gh.query(`EXPLAIN QUERY PLAN ${select}${where}${order}`);
      const details = plan.map((row) => row.detail).join(' | ');
      assert.match(details, /SEARCH audit_events USING (COVERING )?INDEX audit_events_by_(app|subject|client|kind) /, `${filter}: ${details}`);
    }
  });
});
