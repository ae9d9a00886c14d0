// A real headless browser for the end-to-end suites: Debian's `chromium` (scripts/setup installs
// it), driven over the Chrome DevTools Protocol with the `ws` package. It runs on 127.0.0.1 with
// its own profile directory, in its own process group, and is stopped by that group's id.
//
//   const browser = await startChromium();
//   const page = await browser.page({ captureRedirectsFrom: gh.url });   // a fresh context: no cookies
//   await page.goto(url); await page.fill({ email, password }); await page.click('button[value=approve]');
//   const location = await page.redirected();   // the Location gatehouse sent
//   await browser.stop();
//
// Nothing leaves the machine: host names other than loopback resolve to nothing
// (--host-resolver-rules), background services are off, and a redirect from gatehouse to any other
// origin (a hosted callback, a private-use scheme, a loopback listener) is captured at the
// response and answered with a blank page instead of being followed.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from './gatehouse.mjs';

const BINARY = process.env.CHROMIUM ?? 'chromium';
const START_TIMEOUT_MS = 20_000;
const STEP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

/** Starts chromium; rejects with its output when it cannot (say, when it is not installed). */
export async function startChromium() {
  const port = await freePort();
  const profile = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    `--remote-debugging-address=127.0.0.1`,
    `--remote-debugging-port=${port}`,
    `--user-data-dir=${profile}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-default-apps',
    '--disable-sync',
    '--disable-extensions',
    '--metrics-recording-only',
    '--disable-features=Translate,OptimizationHints,MediaRouter,InterestFeedContentSuggestions',
    // Only loopback resolves: a redirect that escaped capture could not reach the network.
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    'about:blank',
  ];
  const child = spawn(BINARY, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const spawnFailed = new Promise((_, reject) => child.on('error', reject));
  const killOnExit = () => signalGroup(child.pid, 'SIGKILL');
  process.on('exit', killOnExit);
  const cleanup = () => rmSync(profile, { recursive: true, force: true });
  const stop = async () => {
    process.off('exit', killOnExit);
    connection?.close();
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    signalGroup(child.pid, 'SIGKILL');
    cleanup();
  };
  let connection;
  try {
    const endpoint = await Promise.race([waitForEndpoint(port), spawnFailed, exited.then(() => { throw new Error(`chromium exited:\n${output}`); })]);
    connection = await Cdp.connect(endpoint);
  } catch (error) {
    await stop();
    if (error.code === 'ENOENT') throw new Error(`${BINARY} is not installed: run scripts/setup`);
    throw error;
  }
  return { page: (options) => Page.open(connection, options), stop, pid: child.pid };
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** The browser's DevTools WebSocket URL, once it answers on its debugging port. */
async function waitForEndpoint(port) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return (await res.json()).webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`chromium did not open its debugging port ${port} within ${START_TIMEOUT_MS} ms`);
}

/** One DevTools connection: numbered commands, their answers, and events per session. */
class Cdp {
  #ws;
  #next = 1;
  #pending = new Map();
  #listeners = new Set();

  static async connect(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Cdp(ws);
  }

  constructor(ws) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const message = JSON.parse(data);
      if (message.id) {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) pending?.reject(new Error(`${pending.method}: ${message.error.message}`));
        else pending?.resolve(message.result);
      } else {
        for (const listener of this.#listeners) listener(message);
      }
    });
  }

  send(method, params = {}, sessionId) {
    const id = this.#next++;
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject, method }));
  }

  listen(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close() {
    this.#ws.close();
  }
}

/**
 * A tab in a browser context of its own (its own cookies, like a fresh private window), unless
 * `context` names one to share. `captureRedirectsFrom`: an origin (gatehouse's) whose redirects
 * to any other origin are recorded and answered with a blank page, never followed.
 */
class Page {
  #cdp;
  #session;
  #context;
  #loads = 0;
  #redirects = [];
  #waiters = new Set();

  static async open(cdp, { captureRedirectsFrom, context } = {}) {
    const ownContext = context ? undefined : (await cdp.send('Target.createBrowserContext', { disposeOnDetach: true })).browserContextId;
    const browserContextId = context ?? ownContext;
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank', browserContextId });
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(cdp, sessionId, targetId, captureRedirectsFrom);
    page.context = browserContextId;
    page.#context = ownContext;
    await cdp.send('Page.enable', {}, sessionId);
    await cdp.send('Runtime.enable', {}, sessionId);
    if (captureRedirectsFrom) {
      await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${captureRedirectsFrom}/*`, requestStage: 'Response' }] }, sessionId);
    }
    return page;
  }

  constructor(cdp, sessionId, targetId, origin) {
    this.#cdp = cdp;
    this.#session = sessionId;
    this.targetId = targetId;
    cdp.listen((message) => {
      if (message.sessionId !== sessionId) return;
      if (message.method === 'Page.loadEventFired') this.#loads++;
      if (message.method === 'Fetch.requestPaused') this.#paused(message.params, origin);
      for (const waiter of this.#waiters) waiter();
    });
  }

  /** A response from gatehouse: a redirect elsewhere is recorded and replaced; anything else passes. */
  async #paused({ requestId, responseStatusCode, responseHeaders = [] }, origin) {
    const location = responseHeaders.find((h) => h.name.toLowerCase() === 'location')?.value;
    const elsewhere = location && responseStatusCode >= 300 && responseStatusCode < 400 && !location.startsWith('/') && !location.startsWith(`${origin}/`);
    if (!elsewhere) {
      await this.#send('Fetch.continueRequest', { requestId }).catch(() => {});
      return;
    }
    this.#redirects.push({ status: responseStatusCode, location });
    await this.#send('Fetch.fulfillRequest', {
      requestId,
      responseCode: 200,
      responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }],
      body: Buffer.from('<!doctype html><title>captured</title><p>The redirect was captured by the test.</p>').toString('base64'),
    }).catch(() => {});
    for (const waiter of this.#waiters) waiter();
  }

  #send(method, params) {
    return this.#cdp.send(method, params, this.#session);
  }

  /** Resolves once `predicate()` holds, re-checked on every event of this tab. */
  #until(predicate, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = predicate();
        if (!value) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}`));
      }, STEP_TIMEOUT_MS);
      this.#waiters.add(check);
      check();
    });
  }

  /** Navigates and waits for the page (or a captured redirect) to load. */
  async goto(url) {
    const loads = this.#loads;
    await this.#send('Page.navigate', { url: String(url) });
    await this.#until(() => this.#loads > loads, `the page at ${url}`);
  }

  /**
   * Switches the page's Content-Security-Policy off in this tab from the next load on, so a test
   * sees what the markup alone lets through (hostile_values.test.mjs).
   */
  async bypassCsp() {
    await this.#send('Page.setBypassCSP', { enabled: true });
  }

  /** Evaluates `expression` in the page and returns its value. */
  async evaluate(expression) {
    const { result, exceptionDetails } = await this.#send('Runtime.evaluate', { expression, returnByValue: true });
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  }

  /** The page's visible text. */
  text() {
    return this.evaluate('document.body ? document.body.innerText : ""');
  }

  /** The page's markup. */
  html() {
    return this.evaluate('document.documentElement.outerHTML');
  }

  /** Types `fields` (name → value) into the page's inputs, as a person would. */
  async fill(fields) {
    for (const [name, value] of Object.entries(fields)) {
      const ok = await this.evaluate(`(() => { const input = document.querySelector(${JSON.stringify(`input[name="${name}"]`)}); if (!input) return false; input.focus(); input.value = ${JSON.stringify(value)}; input.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`);
      if (!ok) throw new Error(`no input named ${name} on ${await this.evaluate('location.href')}`);
    }
  }

  /** Clicks the element matching `selector` and waits for the next page load. */
  async click(selector) {
    const loads = this.#loads;
    const ok = await this.evaluate(`(() => { const el = document.querySelector(${JSON.stringify(selector)}); if (!el) return false; el.click(); return true; })()`);
    if (!ok) throw new Error(`nothing matches ${selector} on ${await this.evaluate('location.href')}`);
    await this.#until(() => this.#loads > loads, `the page after clicking ${selector}`);
  }

  /** Lays the page out as a window `width` × `height` CSS pixels would. */
  async resize(width, height) {
    await this.#send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
  }

  /** A PNG of the viewport, as a Buffer (to save for a person to look at). */
  async screenshot() {
    const { data } = await this.#send('Page.captureScreenshot', { format: 'png' });
    return Buffer.from(data, 'base64');
  }

  /** The redirect from gatehouse to another origin, once it happened: `{ status, location }`. */
  redirected() {
    return this.#until(() => this.#redirects.at(-1), 'a redirect away from gatehouse');
  }

  async close() {
    await this.#cdp.send('Target.closeTarget', { targetId: this.targetId }).catch(() => {});
    if (this.#context) await this.#cdp.send('Target.disposeBrowserContext', { browserContextId: this.#context }).catch(() => {});
  }
}
