// Markdown for agents under failure and load (issue 20): pages of every kind, origins that stall
// or reset mid-body, clients that disconnect mid-response. Each conversion must end, leave the
// Worker's workerd idle, and leave the Worker serving the conversions still in flight.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startGatehouse } from './support/gatehouse.mjs';
import { tokensFor } from './support/oauth.mjs';
import { startPageOrigin } from './support/markdown_pages.mjs';

let gh;
let origin;
let headers;
before(async () => {
  origin = await startPageOrigin();
  const apps = [{ name: 'Pages', host: '*', scopes: { read: 'Read' }, default_scopes: ['read'], policy: { allow_domains: ['example.com'] }, origin: origin.url }];
  gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  headers = { authorization: `Bearer ${tokens.access_token}`, accept: 'text/markdown' };
});
after(async () => {
  await gh?.stop();
  await origin?.stop();
});

/** CPU time (clock ticks, /proc/<pid>/stat utime + stime) of the workerd processes of the instance. */
function workerdTicks() {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (name.includes('workerd') && Number(fields[2]) === gh.pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

/** GET `path` as Markdown; with `abortAfter`, the client disconnects once that many bytes came. */
async function markdown(path, { abortAfter } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`${path}: no end within 30 s`)), 30_000);
  try {
    const res = await fetch(`${gh.url}${path}`, { headers, signal: controller.signal });
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), 'text/markdown; charset=utf-8', path);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
      if (abortAfter && text.length >= abortAfter) {
        controller.abort(new Error('client gone'));
        return text;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

test('clients that disconnect mid-conversion leave the Worker serving the conversions in flight', async () => {
  // A conversion held open by its origin across everything below.
  const held = markdown('/stall');
  // Each disconnect abandons a conversion whose streams the runtime frees later, on garbage
  // collection, outside any request. Freeing them must not call into the runtime: were a call to
  // throw there (it does: no I/O outside a request), the wasm instance would be marked broken and
  // replaced on the next request, and every conversion in flight on the old one would hang.
  for (let i = 0; i < 40; i++) {
    await markdown(i % 2 ? '/cut' : '/endless', { abortAfter: 1 });
    assert.match(await markdown('/small'), /^# Small\n\nA \*small\* page/);
  }
  origin.release();
  const text = await held;
  assert.match(text, /^# Stall\n\nbefore the stall/);
  assert.match(text, /after the stall\n$/);
  const broken = gh.log().split('\n').filter((line) => /Critical error|Reinitializing Wasm application/.test(line));
  assert.deepEqual(broken, [], 'the wasm instance was marked broken');
});

test('pages of every kind convert to the end or to a stop, and the Worker goes back to idle', async () => {
  assert.match(await markdown('/small'), /^# Small\n/);
  const dense = await markdown('/dense?kib=64');
  assert.match(dense, /^# Dense\n\n\*\*x\*\* \*y\* z \[w\]\(\/q\)\n/);
  // An origin that resets mid-body: the Markdown of what came, and an end (an error or not).
  const reset = await markdown('/reset').catch((error) => String(error));
  assert.ok(!/no end within/.test(reset), reset);
  // A client that gives up on an origin that stalls.
  const stalled = fetch(`${gh.url}/stall`, { headers, signal: AbortSignal.timeout(1_000) }).then((r) => r.text());
  await assert.rejects(stalled, /TimeoutError|aborted/);
  await markdown('/dense?kib=256', { abortAfter: 1 });
  await markdown('/endless', { abortAfter: 1 });
  const cut = await markdown('/cut');
  assert.match(cut, /stopped converting this page here \(too_large\)/);
  assert.doesNotMatch(cut, /THE END/);
  // Nothing runs on once the requests have ended (a stalled origin's connection stays open).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const start = workerdTicks();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const spent = workerdTicks() - start;
  assert.ok(spent <= 30, `workerd spent ${spent} ticks of CPU in 3 s with no request`);
  origin.release();
});
