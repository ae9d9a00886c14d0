// Cold start (bench/README.md, "Cold start"): what a fresh isolate costs before and at its first
// request, for gatehouse (build/), the reference (bench/reference/) and the workers-rs floor
// (bench/floor/build/). `bench/run` runs it; `node bench/coldstart.mjs` alone measures what is
// built.
//
// For each Worker, BENCH_COLD_RUNS (3) times: starts `wrangler dev` on 127.0.0.1 in its own
// process group (without the e2e harness, whose readiness probe would be the first request),
// waits for "Ready on", then reads the CPU time of the workerd that runs the Worker (the sum of
// its threads' /proc/<pid>/task/*/schedstat, nanoseconds) and sends two requests for the AS
// metadata document, one after the other. Reported (medians): the Worker workerd's CPU from its
// start to ready (workerd itself, compiling the script and the wasm, running the module), the
// CPU and wall time of the first request, and of the second (warm) one for comparison. The floor
// tells what any workers-rs Worker pays. Writes bench/results/coldstart.json.
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, freePort, guardGroup, unguardGroup } from '../tests/e2e/support/gatehouse.mjs';

const RUNS = Math.max(1, Number.parseInt(process.env.BENCH_COLD_RUNS ?? '', 10) || 3);
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const ENV = { ...process.env, GATEHOUSE_PREBUILT: '1', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' };
const PATH = '/.well-known/oauth-authorization-server';

/** `config` copied beside itself without its [build] section (the Worker is built already). */
async function noBuild(dir, config) {
  const toml = await readFile(config, 'utf8');
  let inBuild = false;
  const kept = toml.split('\n').filter((line) => {
    if (/^\s*\[/.test(line)) inBuild = /^\s*\[build\]\s*$/.test(line);
    return !inBuild;
  });
  const path = join(dir, `.coldstart-${process.pid}.toml`);
  await writeFile(path, kept.join('\n'));
  return path;
}

/** Nanoseconds of CPU of every thread of `pid` (schedstat's first field). */
function threadCpuNs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns;
}

/** The workerd of process group `pgid` that runs the Worker (not wrangler's proxy on `port`). */
function workerPid(pgid, port) {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(fields[2]) !== pgid || name !== 'workerd') continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(`entry=127.0.0.1:${port} `)) return Number(pid);
    } catch {
      // gone
    }
  }
  return undefined;
}

async function once(config, vars = {}) {
  const port = await freePort();
  const state = await mkdtemp(join(tmpdir(), 'gatehouse-cold-'));
  const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(await freePort()),
    '--show-interactive-dev-session=false', '--persist-to', state, '--config', config,
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: ENV, detached: true });
  const kill = (signal) => { try { process.kill(-child.pid, signal); } catch { /* gone */ } };
  guardGroup(child.pid); // stopped however this process ends
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    while (!output.includes(`Ready on http://127.0.0.1:${port}`)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    let pid;
    while (!(pid = workerPid(child.pid, port))) {
      if (Date.now() > deadline) throw new Error('no Worker workerd found');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300)); // let start-up work settle
    const ready = threadCpuNs(pid);
    const timed = async () => {
      const before = threadCpuNs(pid);
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}${PATH}`);
      await res.text();
      const wall = performance.now() - t;
      if (res.status !== 200) throw new Error(`${PATH} answered ${res.status}`);
      return { wallMs: wall, cpuMs: (threadCpuNs(pid) - before) / 1e6 };
    };
    const first = await timed();
    const second = await timed();
    return { startupCpuMs: ready / 1e6, first, second };
  } finally {
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    kill('SIGKILL');
    unguardGroup(child.pid);
    await rm(state, { recursive: true, force: true });
  }
}

/** Issue 20: release wasm ≤ 600 KB gzip, read as 600,000 bytes. */
const WASM_BUDGET_BYTES = 600_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const snapshot = await mkdtemp(join(tmpdir(), 'gatehouse-cold-build-'));
  await cp(join(ROOT, 'build'), join(snapshot, 'build'), { recursive: true });
  await cp(join(ROOT, 'wrangler.toml'), join(snapshot, 'wrangler.toml'));
  await cp(join(ROOT, '.dev.vars'), join(snapshot, '.dev.vars'));
  const wasm = async (dir) => {
    const bytes = await readFile(join(dir, (await readdir(dir)).find((f) => f.endsWith('.wasm'))));
    return { raw: bytes.length, gzip: gzipSync(bytes).length };
  };
  const results = { date: new Date().toISOString(), runs: RUNS, path: PATH, workers: {} };
  const floorConfig = join(ROOT, 'bench', 'floor', `.coldstart-${process.pid}.toml`);
  try {
    const workers = {
      gatehouse: { config: await noBuild(snapshot, join(snapshot, 'wrangler.toml')), wasm: await wasm(join(snapshot, 'build')) },
      reference: { config: join(ROOT, 'bench', 'reference', 'wrangler.toml') },
      'workers-rs floor': { config: await noBuild(join(ROOT, 'bench', 'floor'), join(ROOT, 'bench', 'floor', 'wrangler.toml')), vars: { ORIGIN: 'http://127.0.0.1:9' }, wasm: await wasm(join(ROOT, 'bench', 'floor', 'build')) },
    };
    const samples = Object.fromEntries(Object.keys(workers).map((k) => [k, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const [name, w] of Object.entries(workers)) {
        const s = await once(w.config, w.vars);
        samples[name].push(s);
        console.error(`  ${name} run ${r + 1}: start-up ${s.startupCpuMs.toFixed(0)} ms CPU; first request ${s.first.cpuMs.toFixed(1)} ms CPU, ${s.first.wallMs.toFixed(1)} ms wall; second ${s.second.cpuMs.toFixed(1)} / ${s.second.wallMs.toFixed(1)} ms`);
      }
    }
    for (const [name, list] of Object.entries(samples)) {
      results.workers[name] = {
        startupCpuMs: median(list.map((s) => s.startupCpuMs)),
        firstCpuMs: median(list.map((s) => s.first.cpuMs)),
        firstWallMs: median(list.map((s) => s.first.wallMs)),
        secondCpuMs: median(list.map((s) => s.second.cpuMs)),
        secondWallMs: median(list.map((s) => s.second.wallMs)),
        wasm: workers[name].wasm,
        samples: list,
      };
    }
  } finally {
    await rm(snapshot, { recursive: true, force: true });
    await rm(floorConfig, { force: true });
  }
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'coldstart.json'), `${JSON.stringify(results, null, 2)}\n`);
  const rows = [['Worker', 'start-up CPU ms', 'first request CPU ms', 'first request wall ms', 'second request CPU / wall ms', 'wasm gzip bytes']];
  for (const [name, w] of Object.entries(results.workers)) {
    rows.push([name, w.startupCpuMs.toFixed(0), w.firstCpuMs.toFixed(1), w.firstWallMs.toFixed(1), `${w.secondCpuMs.toFixed(1)} / ${w.secondWallMs.toFixed(1)}`, w.wasm ? String(w.wasm.gzip) : '(JavaScript)']);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(['', `cold start — ${results.date.slice(0, 16)}Z, medians of ${RUNS} fresh \`wrangler dev\` starts, GET ${PATH}; CPU of the Worker's own workerd`, '', line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n'));
  const g = results.workers.gatehouse.wasm;
  // Issue 20's 600 KB is read as 600,000 bytes, at zlib's default level (gzipSync above).
  console.log(`release wasm: ${g.raw} bytes raw, ${g.gzip} bytes gzip; budget ≤ 600,000 bytes gzip: ${g.gzip <= WASM_BUDGET_BYTES ? 'met' : 'MISSED'}`);
}

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
