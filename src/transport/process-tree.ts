import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Signals a child and everything it started. On POSIX the child leads its own process group (it is
 * spawned detached), so one signal to the negative pid reaches `npx` wrappers, shells and their children.
 */
export function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  const pid = child.pid;
  if (pid === undefined) return;
  if (process.platform !== 'win32') {
    try {
      process.kill(-pid, signal);
      return;
    } catch {
      // ESRCH: the group is gone. Fall through to the child itself in case it left the group.
    }
  }
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

/** True while any process of the child's group is alive (POSIX); the child alone elsewhere. */
export function treeAlive(child: ChildProcess): boolean {
  const pid = child.pid;
  if (pid === undefined) return false;
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

// Last resort: if this process exits without closing its upstreams, their trees go with it.
const live = new Set<ChildProcess>();
let hooked = false;

export function trackTree(child: ChildProcess): void {
  live.add(child);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) signalTree(c, 'SIGKILL');
    });
  }
}

export function untrackTree(child: ChildProcess): void {
  live.delete(child);
}
