// Runs the real `gatehouse-fetch` binary (built once with `cargo build -p gatehouse-fetch`) and
// plays the person at the points where it needs one: when it prints an authorization URL on
// stderr (`--no-browser`), and when it prints a device grant's user code.
//
//   const out = await runFetch(['--yes', '--no-browser', url], { home, onAuthorizeUrl: async (u) => … });
//   out.code, out.stdout, out.stderr, out.authorizeUrl
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './gatehouse.mjs';

const exec = promisify(execFile);
const RUN_TIMEOUT_MS = 120_000;

/** Builds the CLI (a no-op when it is up to date) and returns the binary's path. */
export async function buildFetchCli() {
  await exec('cargo', ['build', '--quiet', '-p', 'gatehouse-fetch'], { cwd: ROOT, maxBuffer: 16 << 20 });
  const { stdout } = await exec('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: ROOT, maxBuffer: 64 << 20 });
  return join(JSON.parse(stdout).target_directory, 'debug', 'gatehouse-fetch');
}

/** A fresh token store directory, removed when the suite's process exits. */
const homes = [];
process.on('exit', () => homes.forEach((home) => rmSync(home, { recursive: true, force: true })));
export async function freshHome() {
  const home = await mkdtemp(join(tmpdir(), 'gatehouse-fetch-home-'));
  homes.push(home);
  return home;
}

/**
 * Runs the binary. `onAuthorizeUrl(url)` is called with the authorization URL it prints and must
 * play the person (and follow the redirect to the loopback listener); `onDeviceCode({ uri, code })`
 * likewise for the device grant. Without a handler, a printed URL or code fails the run.
 * The environment has no display and no BROWSER, as on a server.
 */
export function runFetch(bin, args, { home, onAuthorizeUrl, onDeviceCode, stdin } = {}) {
  const env = { ...process.env, GATEHOUSE_FETCH_HOME: home };
  for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'BROWSER']) delete env[name];
  const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = Buffer.alloc(0);
  let stderr = '';
  let authorizeUrl;
  let device;
  const problems = [];
  const person = [];
  child.stdout.on('data', (d) => (stdout = Buffer.concat([stdout, d])));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!authorizeUrl) {
      const m = stderr.match(/open this URL in a browser to log in and approve:\n(\S+)\n/);
      if (m) {
        authorizeUrl = new URL(m[1]);
        if (!onAuthorizeUrl) problems.push(new Error(`unexpected authorization: ${authorizeUrl}`));
        else person.push(onAuthorizeUrl(authorizeUrl).catch((e) => problems.push(e)));
      }
    }
    if (!device) {
      const m = stderr.match(/open (\S+) and enter the code (\S+)\n/);
      if (m) {
        device = { uri: m[1], code: m[2] };
        if (!onDeviceCode) problems.push(new Error(`unexpected device code: ${m[2]}`));
        else person.push(onDeviceCode(device).catch((e) => problems.push(e)));
      }
    }
  });
  child.stdin.on('error', () => {}); // a run that exits before reading stdin closes the pipe
  child.stdin.end(stdin ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      await Promise.all(person);
      if (problems.length) return reject(new AggregateError(problems, `gatehouse-fetch ${args.join(' ')}:\n${stderr}`));
      resolve({ code, signal, stdout: stdout.toString(), stdoutBytes: stdout, stderr, authorizeUrl, device });
    });
  });
}
