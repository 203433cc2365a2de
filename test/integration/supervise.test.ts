/** `switchboard supervise` stays up while its servers are down, and keeps bringing them back. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, fixture, waitFor } from '../helpers.js';

interface Supervised {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

function supervise(config: unknown): Supervised {
  const dir = mkdtempSync(join(tmpdir(), 'sb-supervise-'));
  const file = join(dir, 'switchboard.json');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [BIN, 'supervise', '--json', '--config', file, '--grace', '500'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, lines, exited };
}

test('supervise stays up when its only server is killed, and brings it back', async () => {
  const s = supervise({
    mcpServers: { e: fixture('e', { health: false, restart: { initialDelayMs: 300, jitter: 0 } }) },
  });
  try {
    assert.ok(await waitFor(() => s.lines().some((l) => l.event === 'watching'), 10_000));
    const pid = await serverPid(s.child.pid!);
    process.kill(pid, 'SIGKILL');
    assert.ok(
      await waitFor(() => s.lines().filter((l) => l.state === 'ready').length === 2, 10_000),
      `no restart: ${JSON.stringify(s.lines())}`,
    );
    assert.equal(s.child.exitCode, null, 'still running');
  } finally {
    s.child.kill('SIGTERM');
  }
  assert.equal(await s.exited, 0);
});

test('supervise stays up and keeps retrying a server whose start fails', async () => {
  const s = supervise({
    mcpServers: {
      b: {
        command: process.execPath,
        args: ['-e', 'process.exit(4)'],
        health: false,
        restart: { initialDelayMs: 100, maxDelayMs: 100, jitter: 0, crashLoopAfter: 100 },
      },
    },
  });
  try {
    assert.ok(
      await waitFor(() => s.lines().filter((l) => l.state === 'backoff').length >= 3, 10_000),
      `stopped retrying: ${JSON.stringify(s.lines())}`,
    );
    assert.equal(s.child.exitCode, null, 'still running');
  } finally {
    s.child.kill('SIGTERM');
  }
  assert.equal(await s.exited, 0);
});

/** The pid of the (one) server process that `supervise` with this pid started. */
async function serverPid(parent: number): Promise<number> {
  const { readdirSync, readFileSync } = await import('node:fs');
  let found: number | undefined;
  await waitFor(() => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === parent) found = Number(entry);
      } catch {
        // gone meanwhile
      }
    }
    return found !== undefined;
  });
  assert.ok(found, 'the server process was found');
  return found;
}
