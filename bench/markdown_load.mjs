// Markdown for agents under a bounded load against a real `wrangler dev` (issue 20): requests in
// order (SEQ: paths of tests/e2e/support/markdown_pages.mjs, a trailing `!` for a client that
// disconnects after the first bytes), ROUNDS times and at most LIMIT_S seconds, each request at
// most 30 s; then a stalled origin held open; then the Worker's workerd CPU (/proc/<pid>/stat)
// in 2 s windows with no request, which must be idle. LOG=1 prints the Worker's log.
//   GATEHOUSE_NO_OPT=1 scripts/build && node bench/markdown_load.mjs
//   SEQ='/small,/cut,/small' ROUNDS=1 NOSTALL=1 node bench/markdown_load.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { startGatehouse } from '../tests/e2e/support/gatehouse.mjs';
import { tokensFor } from '../tests/e2e/support/oauth.mjs';
import { startPageOrigin } from '../tests/e2e/support/markdown_pages.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const deadline = Date.now() + Number(process.env.LIMIT_S ?? 240) * 1000;
const origin = await startPageOrigin();
const policy = { allow_domains: ['example.com'] };
const apps = [{ name: 'Wiki', host: '*', scopes: { read: 'Read' }, default_scopes: ['read'], policy, origin: origin.url }];
const gh = await startGatehouse({ vars: { APPS: JSON.stringify(apps) } });
const ticks = () => {
  let sum = 0; const pids = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(f[2]) === gh.pid && comm.includes('workerd')) { sum += Number(f[11]) + Number(f[12]); pids.push(d); }
    } catch {}
  }
  return { sum, pids };
};
try {
  const { tokens } = await tokensFor(gh.url, { scope: 'read' });
  const headers = { authorization: `Bearer ${tokens.access_token}`, accept: 'text/markdown' };
  const get = async (path, { abortAfter } = {}) => {
    const t0 = Date.now();
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error('timeout')), 30_000);
    let bytes = 0; let outcome = 'ok';
    try {
      const res = await fetch(`${gh.url}${path}`, { headers, signal: ctl.signal });
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
        if (abortAfter && bytes >= abortAfter) { ctl.abort(new Error('client gone')); outcome = 'aborted'; break; }
      }
      outcome = `${res.status} ${outcome}`;
    } catch (e) { outcome = `error ${e.cause?.message ?? e.message}`; }
    clearTimeout(timer);
    return `${path}${abortAfter ? ' (abort)' : ''}: ${outcome}, ${bytes} B, ${Date.now() - t0} ms`;
  };
  const before = ticks();
  console.log('workerd pids', before.pids.join(','), 'ticks', before.sum);
  for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
    const seq = (process.env.SEQ ?? '/small,/dense,/cut,/reset,/dense!,/endless!,/cut!').split(',').map((p) => p.endsWith('!') ? [p.slice(0, -1), { abortAfter: 1 }] : [p]);
    for (const [path, opts] of seq) {
      if (Date.now() > deadline) break;
      console.log(await get(path, opts));
    }
    if (process.env.NOSTALL) { console.log('round', round, 'ticks', ticks().sum - before.sum); continue; }
    // a stalled origin: the client gives up after 2 s
    const ctl = AbortSignal.timeout(2000);
    const t0 = Date.now();
    try { const r = await fetch(`${gh.url}/stall`, { headers, signal: ctl }); await r.text(); console.log('/stall ended?!'); }
    catch (e) { console.log(`/stall: client gave up after ${Date.now() - t0} ms (${e.name})`); }
    console.log('round', round, 'ticks', ticks().sum - before.sum);
  }
  const after = ticks();
  console.log('requests done; workerd ticks used so far', after.sum - before.sum);
  for (let i = 0; i < 6; i++) {
    const a = ticks().sum; await new Promise((r) => setTimeout(r, 2000)); const b = ticks().sum;
    console.log(`idle window ${i}: ${b - a} ticks in 2 s (${((b - a) / 2).toFixed(0)} %)`);
  }
  origin.release();
  for (let i = 0; i < 3; i++) {
    const a = ticks().sum; await new Promise((r) => setTimeout(r, 2000)); const b = ticks().sum;
    console.log(`after the stalled origin closed, window ${i}: ${b - a} ticks in 2 s`);
  }
  console.log('health', (await fetch(`${gh.url}/healthz`, { signal: AbortSignal.timeout(5000) })).status);
} finally {
  if (process.env.LOG) console.log(gh.log().split('\n').filter((l) => !/GET \/(small|dense|cut|reset|endless|stall) 200/.test(l)).slice(-60).join('\n'));
  await gh.stop();
  await origin.stop();
}
