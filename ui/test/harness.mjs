// What the browser tests share: a scratch data directory, the onceflow command, processes
// started and stopped by the test, a headless Debian chromium driven by playwright-core, and
// polling with a bound (never a sleep that hopes an effect happened).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

// How long any wait lasts before the test fails: the bound of a hang, not a timing (as
// testing::kHangGuard in src/testing/hang_guard.h).
export const HANG_GUARD_MS = 5 * 60 * 1000;

export const onceflowBin = process.env.ONCEFLOW_BIN;
export const outDir = process.env.ONCEFLOW_UI_TEST_OUT;
if (!onceflowBin || !outDir) {
  throw new Error('ONCEFLOW_BIN and ONCEFLOW_UI_TEST_OUT must be set (ctest sets them)');
}

// A fresh directory under the test output (screenshots and logs of the last run stay there).
export function freshDir(name) {
  const dir = path.join(outDir, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// Runs `onceflow ARGS...` to completion; throws with its stderr unless it exits 0.
export function onceflow(args, { input } = {}) {
  const r = spawnSync(onceflowBin, args, { input, encoding: 'utf8', timeout: HANG_GUARD_MS });
  if (r.status !== 0) {
    throw new Error(`onceflow ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr}`);
  }
  return r;
}

// A port free on the loopback now (the server binds it right after).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A long-running `onceflow ...` (run --ui, ui): its output goes to LOG under the test output.
export class Process {
  constructor(args, logFile) {
    this.args = args;
    this.logFile = logFile;
    this.log = fs.openSync(logFile, 'a');
    this.child = spawn(onceflowBin, args, { stdio: ['ignore', this.log, this.log] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  // Throws, with the end of its log, if the process has exited (a wait for it would be in vain).
  assertRunning() {
    if (this.child.exitCode === null && this.child.signalCode === null) return;
    const log = fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`onceflow ${this.args.join(' ')} exited ` +
      `(${this.child.exitCode ?? this.child.signalCode}):\n${log}`);
  }

  // Sends `signal` and waits until the process is gone.
  async stop(signal = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const result = await this.exited;
    if (this.log !== null) fs.closeSync(this.log);
    this.log = null;
    return result;
  }
}

// Polls `probe` (async, returns a truthy value when the effect is there) until it holds; fails
// with `what` after HANG_GUARD_MS.
// A process given as `alive` must keep running meanwhile.
export async function pollUntil(what, probe, { alive = null, intervalMs = 100 } = {}) {
  const deadline = Date.now() + HANG_GUARD_MS;
  let last;
  for (;;) {
    alive?.assertRunning();
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// GET a JSON document of the API; throws on a status other than 200.
export async function getJson(base, apiPath) {
  const response = await fetch(`${base}/api/v1/${apiPath}`);
  if (!response.ok) throw new Error(`${apiPath}: HTTP ${response.status}: ${await response.text()}`);
  return response.json();
}

// Debian's chromium, headless, with a fresh profile under the test output.
export async function launchBrowser(profileDir) {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.ONCEFLOW_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
    timeout: HANG_GUARD_MS,
  });
  context.setDefaultTimeout(HANG_GUARD_MS);
  return context;
}

// en-US thousands separators, as the pages print counts.
export const count = (n) => new Intl.NumberFormat('en-US').format(n);
