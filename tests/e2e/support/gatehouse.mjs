// Starts a real gatehouse under `wrangler dev` (workerd with local D1, KV and Queue) on a free
// 127.0.0.1 port with a fresh state directory, and stops exactly the process group it started,
// however this process ends (`guardGroup`): on exit, on SIGINT/SIGTERM/SIGHUP, when its parent
// (the test runner) is gone, and, through a watchdog process, when it is killed outright.
//
//   const gh = await startGatehouse();        // migrations applied, ready to serve
//   const res = await fetch(`${gh.url}/healthz`);
//   await gh.stop();
//
// The Worker must already be built (tests/e2e/run builds it once for all suites).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const ENV = {
  ...process.env,
  GATEHOUSE_PREBUILT: '1', // scripts/build: the harness built already
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  NO_COLOR: '1',
};

/**
 * The configuration `wrangler dev` runs: a copy of `config` beside it without its `[build]`
 * section. The suite built the Worker once; with `[build]`, wrangler would also watch `src/` and
 * rebuild and restart mid-test on any change event there (seen as a flaky "Address already in
 * use" on the restart). Copies are removed when the suite's process exits.
 */
let copies = 0;
const made = [];
process.on('exit', () => made.forEach((path) => rmSync(path, { force: true })));
async function withoutBuild(config) {
  const text = await readFile(config, 'utf8');
  if (!/^\[build\]/m.test(text)) return config;
  const path = join(dirname(config), `.wrangler-e2e-${process.pid}-${++copies}.toml`);
  await writeFile(path, text.replace(/^\[build\][\s\S]*?(?=^\[)/m, ''));
  made.push(path);
  return path;
}

/**
 * The process groups started here and not yet stopped. Each is killed (SIGKILL) when this
 * process exits, when it is ended by SIGINT, SIGTERM or SIGHUP (which end a process without its
 * `exit` event), and when its parent is gone (a test runner killed, or timed out, leaves its
 * test files running). A watchdog, a separate process in a group of its own, kills the group when
 * this process dies without a word (SIGKILL): it holds the read end of a pipe from this process,
 * and the pipe closes when this process dies. `unguard` forgets a group once it is stopped.
 */
const guarded = new Map();
const TERMINATING = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let parentWatch;

/** The parent this process started under. */
const PARENT = process.ppid;

const WATCHDOG = `
const group = Number(process.argv[1]);
const kill = () => { try { process.kill(-group, 'SIGKILL'); } catch {} process.exit(0); };
process.stdin.on('end', kill);
process.stdin.on('error', kill);
process.stdin.resume();
setInterval(() => { try { process.kill(-group, 0); } catch { process.exit(0); } }, 1000);
`;

function killGuarded() {
  for (const pid of guarded.keys()) signalGroup(pid, 'SIGKILL');
}

function onTerminatingSignal(signal) {
  killGuarded();
  // Then end as the signal would have, unless someone else handles it (bench/ exits itself).
  for (const s of TERMINATING) process.off(s, onTerminatingSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function guardGroup(pid) {
  if (guarded.size === 0) {
    process.on('exit', killGuarded);
    for (const signal of TERMINATING) process.on(signal, onTerminatingSignal);
    parentWatch = setInterval(() => {
      if (process.ppid === PARENT) return;
      killGuarded();
      process.exit(1);
    }, 1000);
    parentWatch.unref();
  }
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG, String(pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.on('error', () => {}); // the other guards still stand
  watchdog.stdin.on('error', () => {});
  watchdog.unref();
  watchdog.stdin.unref?.();
  guarded.set(pid, watchdog);
}

export function unguardGroup(pid) {
  const watchdog = guarded.get(pid);
  if (!watchdog) return;
  guarded.delete(pid);
  watchdog.kill('SIGKILL');
  if (guarded.size === 0) {
    process.off('exit', killGuarded);
    for (const signal of TERMINATING) process.off(signal, onTerminatingSignal);
    clearInterval(parentWatch);
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs wrangler to completion; rejects with its output when it fails. */
function wrangler(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: ENV });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`wrangler ${args[0]} failed:\n${output}`)),
    );
  });
}

/**
 * Starts gatehouse. Options:
 *   migrate: apply the D1 migrations first (default true)
 *   vars:    extra Worker variables, passed as `--var NAME:VALUE`
 *   config:  another wrangler configuration file (default: the repository's wrangler.toml), or
 *            several: the first is gatehouse's, the others run beside it in the same wrangler
 *            dev (reachable through service bindings)
 *   restart: the `{ state, port }` of an instance killed with `crash()`, to start again on its
 *            local D1, KV and Queue state and at its address
 * The returned `pid` is wrangler's, and the id of the process group holding it and its workerd;
 * `query(sql)` reads the instance's local D1 (`state` is the directory that holds it); `logLine(pattern)` waits for a line of its log;
 * `crash()` kills the whole group at once (SIGKILL, nothing shut down cleanly) and keeps the
 * state for a restart. `/__scheduled` runs the cron
 * handler (`--test-scheduled`).
 */
export async function startGatehouse({ migrate = true, vars = {}, config, restart } = {}) {
  const state = restart?.state ?? (await mkdtemp(join(tmpdir(), 'gatehouse-e2e-')));
  const configs = await Promise.all([].concat(config ?? join(ROOT, 'wrangler.toml')).map(withoutBuild));
  const primary = ['--config', configs[0]];
  if (migrate && !restart) await wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state, ...primary]);
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]);
  const devArgs = ['--persist-to', state, ...configs.flatMap((c) => ['--config', c]), ...varArgs];
  let instance;
  for (let attempt = 1; !instance; attempt++) {
    try {
      instance = await launch(restart?.port ?? (await freePort()), devArgs);
    } catch (error) {
      // Another process bound the port between freePort() and wrangler: try another, unless this
      // is a restart, which must keep its address.
      if (!error.portTaken || restart || attempt === PORT_ATTEMPTS) {
        await rm(state, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const { url, port, inspectorPort, child, exited, log } = instance;
  const stop = async () => {
    await halt(instance);
    await rm(state, { recursive: true, force: true });
  };
  // Reads the instance's local D1 with wrangler, as an operator would (`SELECT` only).
  const query = async (sql) => {
    const out = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', state, '--json', '--command', sql, ...primary]);
    return JSON.parse(out.slice(out.indexOf('[')))[0].results;
  };
  const crash = async () => {
    signalGroup(child.pid, 'SIGKILL');
    await exited;
    unguardGroup(child.pid);
    return { state, port };
  };
  // The first log line matching `pattern` (a string or RegExp), waiting for wrangler to print
  // it (its output lags the response it logs); null if none within `timeoutMs`.
  const logLine = async (pattern, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = log()
        .split('\n')
        .find((l) => (typeof pattern === 'string' ? l.includes(pattern) : pattern.test(l)));
      if (line || Date.now() > deadline) return line ?? null;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { url, stop, crash, log, logLine, pid: child.pid, inspectorPort, query, state };
}

const PORT_ATTEMPTS = 5;

/** Starts `wrangler dev` on `port` and waits until that very process serves it. */
async function launch(port, devArgs) {
  const inspectorPort = await freePort();
  const args = [
    WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--test-scheduled', ...devArgs,
  ];
  // Its own process group, so that stopping it reaches workerd too and nothing else.
  const child = spawn(process.execPath, args, { cwd: ROOT, env: ENV, detached: true });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  guardGroup(child.pid);
  const instance = { url: `http://127.0.0.1:${port}`, port, inspectorPort, child, exited, log: () => output };
  try {
    await waitUntilServing(instance);
  } catch (error) {
    await halt(instance);
    throw error;
  }
  return instance;
}

/** Stops an instance's whole process group: SIGTERM, then SIGKILL after a grace period. */
async function halt({ child, exited }) {
  signalGroup(child.pid, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  signalGroup(child.pid, 'SIGKILL'); // any straggler workerd of this group
  unguardGroup(child.pid);
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Waits until wrangler reports it serves `url` and the address answers. A response alone is not
 * enough: another process may hold the port, and it answers while this wrangler fails to bind
 * ("Address already in use") and exits; that failure is thrown with `portTaken`.
 */
async function waitUntilServing({ url, exited, log }) {
  let gone = false;
  exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) {
      const error = new Error(`wrangler dev exited before serving ${url}:\n${log()}`);
      error.portTaken = /address already in use/i.test(log());
      throw error;
    }
    if (log().includes(`Ready on ${url}`)) {
      try {
        await fetch(`${url}/.gatehouse-e2e-ready`, { signal: AbortSignal.timeout(2_000) });
        return;
      } catch {
        // not answering yet
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not serve ${url} within ${READY_TIMEOUT_MS} ms:\n${log()}`);
}
