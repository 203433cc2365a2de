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

/** The direct children of this process, as /proc status texts by pid (Linux only; null elsewhere). */
function children() {
  if (!existsSync('/proc/self/status')) return null;
  const found = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) === process.pid) found.set(entry, status);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/**
 * The direct children of this process and their resident memory (Linux only; null elsewhere).
 * Upstreams spawned by the switchboard, inline or from a worker thread, are among them.
 */
export function childrenRss() {
  const kids = children();
  if (!kids) return null;
  let kB = 0;
  for (const status of kids.values()) kB += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return { count: kids.size, rssMB: kB / 1024 };
}

/** CPU time (user + system, clock ticks) the direct children have used so far. */
function childrenCpuTicks(kids) {
  let ticks = 0;
  for (const pid of kids.keys()) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks;
}

/**
 * Waits until the children are idle: less than `maxCores` of a core over `windowMs`, or `deadlineMs`
 * passes. Freshly started Node processes keep compiling and collecting for a while; many of them at
 * once would otherwise land in the first measurement. Resolves to how long it waited (ms), or null
 * where /proc is missing.
 */
export async function childrenQuiet({ windowMs = 500, maxCores = 0.05, deadlineMs = 30_000 } = {}) {
  const kids = children();
  if (!kids) return null;
  const t0 = Date.now();
  const tickMs = 10; // USER_HZ is 100 on Linux
  let before = childrenCpuTicks(kids);
  while (Date.now() - t0 < deadlineMs) {
    await sleep(windowMs);
    const after = childrenCpuTicks(kids);
    if (((after - before) * tickMs) / windowMs < maxCores) break;
    before = after;
  }
  return Date.now() - t0;
}

/**
 * CPU time (clock ticks) for telling other work apart: the machine's in all (`total`, every CPU's clock,
 * from /proc/stat), and `other`, a running count of what processes outside the bench's own tree used
 * since the first reading. A process is the bench's if it descends from this one, or was seen to before
 * it was orphaned; the rest are summed from their own times (utime + stime + cutime + cstime, so a
 * short-lived child of another process counts once it is reaped). Init's reaped children are left out:
 * an orphan of the bench's that lived and died between two readings ends there. Null without /proc.
 */
export function cpuTicks() {
  let total;
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
    total = f.reduce((a, b) => a + b, 0);
  } catch {
    return null;
  }
  const procs = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const rest = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ').at(-1).split(' ');
      const own = +rest[11] + +rest[12];
      procs.set(Number(entry), { ppid: Number(rest[1]), ticks: entry === '1' ? own : own + +rest[13] + +rest[14] });
    } catch {
      // gone meanwhile
    }
  }
  const kids = new Map();
  for (const [pid, { ppid }] of procs) {
    const list = kids.get(ppid);
    if (list) list.push(pid);
    else kids.set(ppid, [pid]);
  }
  const seen = new Set();
  const walk = (root) => {
    for (const stack = [root]; stack.length > 0; ) {
      const pid = stack.pop();
      if (seen.has(pid) || !procs.has(pid)) continue;
      seen.add(pid);
      ours.add(pid);
      stack.push(...(kids.get(pid) ?? []));
    }
  };
  walk(process.pid);
  for (const pid of [...ours]) walk(pid);
  for (const pid of ours) if (!procs.has(pid)) ours.delete(pid);
  const first = theirs.size === 0;
  for (const [pid, { ticks }] of procs) {
    if (ours.has(pid)) continue;
    if (!first) otherTicks += Math.max(0, ticks - (theirs.get(pid) ?? 0));
    theirs.set(pid, ticks);
  }
  for (const pid of theirs.keys()) if (!procs.has(pid)) theirs.delete(pid);
  return { total, other: otherTicks };
}

/** Processes of the bench's tree (descendants, and those orphaned since); others, with their last time. */
const ours = new Set();
const theirs = new Map();
let otherTicks = 0;

/** Cores of CPU that processes outside the bench's tree used between two cpuTicks() readings. */
export function otherCores(before, after, cores) {
  if (!before || !after || after.total <= before.total) return null;
  return ((after.other - before.other) * cores) / (after.total - before.total);
}
