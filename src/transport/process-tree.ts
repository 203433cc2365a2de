import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Signals a child and everything it started. On POSIX the child leads its own process group (it is
 * spawned detached), so one signal to the negative pid reaches `npx` wrappers, shells and their children.
 */
export function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (signalGroup(pid, signal)) return;
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** Signals the process group led by `pid` (POSIX); false if there is none (or on Windows). */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (process.platform === 'win32') return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/** True while any process of the child's group is alive (POSIX); the child alone elsewhere. */
export function treeAlive(child: ChildProcess): boolean {
  return child.pid !== undefined && groupAlive(child.pid);
}

/** True while any process of the group led by `pid` is alive, zombies not counted (Linux: read from /proc). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers signal 0, and where no init reaps orphans (containers) it stays one: on Linux,
  // look at what the group's members really are.
  return process.platform === 'linux' ? groupHasLiving(pid) : true;
}

function groupHasLiving(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue; // not a pid
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

// Last resort: if this process exits without closing its upstreams, their trees go with it. A thread
// host's worker reports the groups it leads here too (`trackGroup` on the main thread), because a worker
// is stopped without running any exit hook of its own when the process exits.
const live = new Set<number>();
let hooked = false;

/** Remembers the group led by `pid`, to be killed if this process exits while it lives. */
export function trackGroup(pid: number): void {
  live.add(pid);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const group of live) signalGroup(group, 'SIGKILL');
    });
  }
}

export function untrackGroup(pid: number): void {
  live.delete(pid);
}
