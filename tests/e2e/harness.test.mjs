// The harness itself: a test process that ends in any way leaves no `wrangler dev` or workerd
// running (orphaned workerd processes were found spinning for hours after killed test runs).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { createInterface } from 'node:readline';

const HOLDER = `
import { startGatehouse } from '${new URL('./support/gatehouse.mjs', import.meta.url)}';
const gh = await startGatehouse({ migrate: false });
console.log(gh.pid);
setInterval(() => {}, 1000);
`;

const started = [];
after(() => started.forEach((pid) => alive(pid) && process.kill(-pid, 'SIGKILL')));

/** Whether any process of group `pid` is still running. */
function alive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A node process holding a started gatehouse, and the process group of its wrangler dev. With
 * `runner`, the holder runs under a shell, as a test file runs under its runner, and `child` is
 * the shell.
 */
async function holder({ runner = false } = {}) {
  const child = runner
    ? spawn('sh', ['-c', '"$NODE" --input-type=module -e "$HOLDER" & wait'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE: process.execPath, HOLDER } })
    : spawn(process.execPath, ['--input-type=module', '-e', HOLDER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise((resolve, reject) => {
    child.on('exit', () => reject(new Error('the holder exited before starting gatehouse')));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const group = Number(line);
  started.push(group);
  assert.ok(alive(group), 'wrangler dev runs');
  return { child, exited, group };
}

async function goneWithin(group, ms) {
  const deadline = Date.now() + ms;
  while (alive(group) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  return !alive(group);
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL']) {
  test(`a test process ended by ${signal} leaves no wrangler or workerd running`, async () => {
    const { child, exited, group } = await holder();
    child.kill(signal);
    assert.equal((await exited).signal, signal, `the holder ends as ${signal} ends it`);
    assert.ok(await goneWithin(group, 5_000), `wrangler dev's group ${group} outlived the test process`);
  });
}

test('a test process whose runner is killed stops its wrangler and workerd', async () => {
  const { child, exited, group } = await holder({ runner: true });
  child.kill('SIGKILL');
  await exited;
  assert.ok(await goneWithin(group, 5_000), `wrangler dev's group ${group} outlived the runner`);
});
