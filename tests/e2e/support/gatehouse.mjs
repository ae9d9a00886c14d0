// Starts a real gatehouse under `wrangler dev` (workerd with local D1, KV and Queue) on a free
// 127.0.0.1 port with a fresh state directory, and stops exactly the process group it started,
// however this process ends (`guardGroup`): on exit, on SIGINT/SIGTERM/SIGHUP, when its parent
// (the test runner) is gone, and, through a watchdog process, when it is killed outright.
//
// Requests reach the Worker's own workerd socket, not the address `wrangler dev` prints: that
// address is wrangler's ProxyWorker, a development-only HTTP forwarder that production does not
// have, and it loses requests of its own (`front`). The harness's address is a byte-for-byte TCP
// relay to that socket, so that it stays the same across a crash and restart (the issuer, and
// every token, is bound to it).
//
//   const gh = await startGatehouse();        // migrations applied, ready to serve
//   const res = await fetch(`${gh.url}/healthz`);
//   await gh.stop();
//
// The Worker must already be built (tests/e2e/run builds it once for all suites).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** The most of an instance's log the harness holds (characters). */
const MAX_LOG_CHARS = 64 * 1024 * 1024;

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
 * The returned `url` relays to the Worker's own socket, `workerPort`; `wranglerUrl` is the
 * address wrangler prints (its ProxyWorker), for what studies that layer.
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
    await instance.front.close();
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
  const { wranglerUrl, worker: workerPort } = instance;
  return {
    url, stop, crash, log, logLine, pid: child.pid, inspectorPort, query, state, wranglerUrl, workerPort,
    detachInspector: () => detachInspector(instance),
  };
}

const PORT_ATTEMPTS = 5;

/**
 * Starts `wrangler dev`, finds its Worker's socket and serves that at `port`. A port another
 * process took is thrown with `portTaken`: `port` for the caller to choose again, wrangler's own
 * port chosen again here.
 */
async function launch(port, devArgs) {
  for (let attempt = 1; ; attempt++) {
    try {
      const host = `127.0.0.1:${port}`;
      const instance = await launchWrangler(await freePort(), devArgs, host);
      try {
        instance.worker = await workerSocket(instance, host);
        instance.front = await front(port, instance.worker);
        Object.assign(instance, { url: `http://127.0.0.1:${port}`, port });
        await fetch(`${instance.url}/.gatehouse-e2e-ready`, { signal: AbortSignal.timeout(10_000) });
        return instance;
      } catch (error) {
        await halt(instance);
        throw error;
      }
    } catch (error) {
      if (!error.wranglerPortTaken || attempt === PORT_ATTEMPTS) throw error;
    }
  }
}

/** Starts `wrangler dev` on `port` and waits until that very process serves it. */
async function launchWrangler(port, devArgs, host) {
  const inspectorPort = await freePort();
  const args = [
    WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--test-scheduled', ...devArgs,
  ];
  // Its own process group, so that stopping it reaches workerd too and nothing else.
  const child = spawn(process.execPath, args, { cwd: ROOT, env: ENV, detached: true });
  let output = '';
  // Kept whole up to a bound, then its last half: a workerd in trouble can print the same error
  // for every request (seen: "Too many open files" under `bench/profile.mjs`), and an unbounded
  // string ends the harness with "Invalid string length" instead of showing it.
  const keep = (d) => {
    output += d;
    if (output.length > MAX_LOG_CHARS) output = output.slice(-MAX_LOG_CHARS / 2);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  guardGroup(child.pid);
  const instance = { wranglerUrl: `http://127.0.0.1:${port}`, inspectorPort, child, exited, log: () => output };
  try {
    await waitUntilServing(instance, host);
  } catch (error) {
    await halt(instance);
    throw error;
  }
  return instance;
}

/**
 * The answer of `port` on 127.0.0.1 to a readiness probe naming `host` (the harness's own
 * address), as `status content-type`; null when nothing answers HTTP there within 2 s. Every
 * request the Worker sees names the one address the suite uses: a Worker that keys anything on
 * the first origin it sees (bench/reference) is not given another.
 */
function probe(port, host) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/.gatehouse-e2e-ready', headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']}`));
      res.on('error', () => resolve(null));
    });
    req.setTimeout(2_000, () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * The port of the Worker's own workerd socket. `wrangler dev` runs two workerd processes in its
 * group: its ProxyWorker's, listening on the address it prints, and the Worker's, listening on a
 * port of its own choosing beside its inspector and debug ports. That port is read from /proc
 * (the listening TCP sockets the Worker's workerd holds) and told apart from the other two by
 * asking each what the printed address answers ([`probe`]: status and type): the inspector
 * answers workerd's own 500 and the debug port no HTTP at all.
 */
async function workerSocket({ child, wranglerUrl }, host) {
  const wranglerPort = Number(new URL(wranglerUrl).port);
  const ports = groupWorkerd(child.pid)
    .filter(({ ports }) => !ports.includes(wranglerPort))
    .flatMap(({ ports }) => ports);
  const expected = await probe(wranglerPort, host);
  for (const port of ports) {
    if (expected !== null && (await probe(port, host)) === expected) return port;
  }
  throw new Error(`no Worker socket among the ports of wrangler's workerd (${ports.join(', ')}); wrangler serves ${wranglerUrl}`);
}

/** The workerd processes of process group `group`, each with the TCP ports it listens on. */
function groupWorkerd(group) {
  const listening = new Map();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // 0A: LISTEN; the inode is the tenth field (proc(5), /proc/net/tcp).
    if (fields[3] === '0A') listening.set(fields[9], parseInt(fields[1].split(':')[1], 16));
  }
  const found = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , owner] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie (Z) ended and holds nothing; its parent has not reaped it yet.
      if (Number(owner) !== group || state === 'Z' || !stat.includes('(workerd)')) continue;
      const ports = readdirSync(`/proc/${pid}/fd`)
        .map((fd) => /^socket:\[(\d+)\]$/.exec(linkOf(`/proc/${pid}/fd/${fd}`))?.[1])
        .filter((inode) => listening.has(inode))
        .map((inode) => listening.get(inode));
      found.push({ pid: Number(pid), ports });
    } catch {
      // a process that ended meanwhile
    }
  }
  return found;
}

/**
 * Ends the DevTools session `wrangler dev` holds on the Worker's isolate, for a measurement of
 * what the Worker costs where no debugger is attached, as in production. wrangler's ProxyWorker
 * (its own workerd, which the harness's relay does not use) keeps that session with the Runtime
 * and Network domains enabled, so every `console.log` captures a stack trace and every
 * subrequest becomes DevTools events. Stopping that workerd closes the session; the Worker goes
 * on serving the harness's address, and `wranglerUrl` no longer answers. Throws if wrangler
 * starts another ProxyWorker within a second.
 */
async function detachInspector({ child, wranglerUrl }) {
  const wranglerPort = Number(new URL(wranglerUrl).port);
  const proxies = groupWorkerd(child.pid).filter(({ ports }) => ports.includes(wranglerPort));
  if (proxies.length === 0) throw new Error(`no ProxyWorker serves ${wranglerUrl}`);
  for (const { pid } of proxies) process.kill(pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  if (groupWorkerd(child.pid).some(({ ports }) => ports.includes(wranglerPort))) {
    throw new Error(`wrangler dev still serves ${wranglerUrl} with a ProxyWorker`);
  }
}

/** Where the link at `path` points; '' once it is gone (a file descriptor closed meanwhile). */
function linkOf(path) {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/**
 * Serves `port` by relaying each TCP connection, unread, to the Worker's socket at `target`: a
 * request reaches the Worker as the client sent it, and the Worker's answer, and how its
 * connection ends, reach the client. wrangler's ProxyWorker is not used because it is an HTTP
 * forwarder with failures production does not have: a request sent as a long response ended
 * was held until another request arrived (the ~300 s hang of `gatekeeper.test.mjs`, CI), and a
 * request body the Worker answered before reading whole comes back 503 "worker restarted".
 * `close()` stops listening and cuts every open connection, as a crashed process would.
 */
function front(port, target) {
  const connections = new Set();
  // No Nagle on either side: a relay that holds a short write back for an ACK adds the peer's
  // delayed-ACK time (~40 ms) to answers sent in more than one write.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const worker = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.pipe(worker);
    worker.pipe(client);
    client.on('error', () => worker.destroy());
    client.on('close', () => worker.destroy());
    // What the Worker sent is delivered before the client's connection ends.
    worker.on('error', () => client.end());
    worker.on('close', () => client.end());
  });
  return new Promise((resolve, reject) => {
    server.on('error', (error) => {
      error.portTaken = error.code === 'EADDRINUSE';
      reject(error);
    });
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            // `destroy`, not `resetAndDestroy`: a reset after `end` (the Worker's side gone
            // first) left node's exit spinning on the shutdown request it abandoned.
            for (const client of connections) client.destroy();
          }),
      }),
    );
  });
}

/** Stops an instance's whole process group: SIGTERM, then SIGKILL after a grace period. */
async function halt({ child, exited, front }) {
  await front?.close();
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
 * Waits until wrangler reports it serves `url` and the address answers ([`probe`], naming
 * `host`). A response alone is not enough: another process may hold the port, and it answers
 * while this wrangler fails to bind ("Address already in use") and exits; that failure is thrown
 * with `wranglerPortTaken`.
 */
async function waitUntilServing({ wranglerUrl: url, exited, log }, host) {
  let gone = false;
  exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) {
      const error = new Error(`wrangler dev exited before serving ${url}:\n${log()}`);
      error.wranglerPortTaken = /address already in use/i.test(log());
      throw error;
    }
    if (log().includes(`Ready on ${url}`) && (await probe(Number(new URL(url).port), host)) !== null) {
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wrangler dev did not serve ${url} within ${READY_TIMEOUT_MS} ms:\n${log()}`);
}
