// Child-process and readiness helpers for the peer gateways. Every peer runs in
// its own process group (so its own children die with it), logs to a file in a
// private temp dir, and is killed on harness exit whatever happened.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const live = new Set();

/** How long a peer gets to exit after SIGTERM before SIGKILL (the harness shortens it for --smoke). */
export const peerOptions = { termGraceMs: 3_000 };

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

/** Kills every peer still running. Synchronous, so it is safe in an 'exit' handler. */
export function killAllPeers() {
  for (const peer of live) killGroup(peer.child, 'SIGKILL');
  live.clear();
}
process.on('exit', killAllPeers);

/** A free loopback TCP port: listen on port 0, read the port, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export class SkipError extends Error {}

export function makeTempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `mcp-bench-${prefix}-`));
}

/**
 * Starts `node <nodeArgs...>` detached in its own process group with stdout and
 * stderr going to `<dir>/peer.log`. `close()` sends SIGTERM to the group, then
 * SIGKILL after a grace period, and removes the temp dir.
 */
export function startPeer({ name, nodeArgs, env = process.env, dir = makeTempDir(name) }) {
  const logPath = join(dir, 'peer.log');
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, nodeArgs, {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.once('error', () => {});
  const peer = {
    name,
    dir,
    child,
    exited,
    logTail(max = 600) {
      try {
        const text = readFileSync(logPath, 'utf8').trim();
        return text.length > max ? `…${text.slice(-max)}` : text;
      } catch {
        return '';
      }
    },
    async close() {
      if (live.delete(peer)) {
        if (child.exitCode === null && child.signalCode === null) {
          killGroup(child, 'SIGTERM');
          const t = setTimeout(() => killGroup(child, 'SIGKILL'), peerOptions.termGraceMs);
          await exited;
          clearTimeout(t);
        }
        killGroup(child, 'SIGKILL'); // stragglers left in the group
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(peer);
  return peer;
}

/**
 * Polls `probe()` every `intervalMs` until it returns true, the peer exits, or
 * `deadlineMs` passes. A probe that throws counts as "not yet".
 */
export async function waitUntil(peer, probe, { deadlineMs = 15_000, intervalMs = 50 } = {}) {
  const end = Date.now() + deadlineMs;
  let lastError;
  let gone = false;
  peer.exited.then(() => {
    gone = true;
  });
  while (Date.now() < end) {
    if (gone) throw new Error(`${peer.name} exited during startup: ${peer.logTail()}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${peer.name} not ready after ${deadlineMs} ms (${lastError?.message ?? 'probe never passed'}): ${peer.logTail()}`,
  );
}

/** One HTTP probe with its own short timeout; resolves to the Response. */
export async function probeHttp(url, init = {}) {
  return fetch(url, { ...init, signal: AbortSignal.timeout(1_000) });
}

/**
 * The direct children of this process and their resident memory, from /proc (Linux only; null
 * elsewhere). Upstreams spawned by the switchboard, inline or from a worker thread, are among them.
 */
export function childrenRss() {
  if (!existsSync('/proc/self/status')) return null;
  let count = 0;
  let kB = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
    count++;
    kB += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return { count, rssMB: kB / 1024 };
}
