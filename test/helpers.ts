import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repo root, from dist/test/helpers.js. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE = `${ROOT}test/fixtures/echo-server.mjs`;
export const BIN = `${ROOT}dist/src/cli/bin.js`;

export type Isolation = 'inline' | 'thread';

/** A config entry for the raw fixture server named `name`. */
export function fixture(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: [FIXTURE, name], ...extra };
}

export function fixtures(
  names: string[],
  extra: Record<string, unknown> = {},
): { mcpServers: Record<string, unknown> } {
  return { mcpServers: Object.fromEntries(names.map((n) => [n, fixture(n, extra)])) };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while a process with this pid runs: one that exited but was not reaped yet (a zombie) does not. */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  stepMs = 10,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

export function structured<T = Record<string, unknown>>(result: { structuredContent?: unknown }): T {
  return result.structuredContent as T;
}

export const CHAOS = `${ROOT}test/fixtures/chaos-server.mjs`;

/**
 * A config entry for the chaos fixture server named `name` (see its header for the environment). It
 * gets a CHAOS_DIR of its own unless `env` names one, so its answers count its starts.
 */
export function chaos(
  name: string,
  extra: Record<string, unknown> = {},
  env: Record<string, string> = {},
  tag = '',
): Record<string, unknown> {
  const dir = env.CHAOS_DIR ?? mkdtempSync(join(tmpdir(), `sb-chaos-${name}-`));
  return { command: process.execPath, args: [CHAOS, name, tag], env: { CHAOS_DIR: dir, ...env }, ...extra };
}

/** Collects a switchboard's `state` events as `server:state`. */
export function stateLog(sb: {
  on(event: 'state', listener: (e: { server: string; state: string }) => void): unknown;
}): string[] {
  const log: string[] = [];
  sb.on('state', (e) => log.push(`${e.server}:${e.state}`));
  return log;
}

/** Pids of the processes whose command line contains `marker` (Linux /proc). */
export function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time until the process ended (ms). */
  ms: number;
}

/**
 * Runs an ES module script in a fresh Node process (from a file, or with `eval` as `node -e`), with `SB`
 * (the built package's entry), `FIXTURE` and `CHAOS` defined ahead of it, and reports how it ended. For behaviour that only a whole process shows: whether
 * it stays alive while work is pending, whether it leaves processes behind when it exits.
 */
export function runScript(
  body: string,
  opts: { timeoutMs?: number; eval?: boolean } = {},
): Promise<ScriptRun> {
  const prelude = `const SB = ${JSON.stringify(`${ROOT}dist/src/index.js`)};\nconst FIXTURE = ${JSON.stringify(FIXTURE)};\nconst CHAOS = ${JSON.stringify(CHAOS)};\n`;
  const started = Date.now();
  let args: string[];
  if (opts.eval) args = ['--input-type=module', '-e', prelude + body];
  else {
    const file = join(mkdtempSync(join(tmpdir(), 'sb-script-')), 'script.mjs');
    writeFileSync(file, prelude + body);
    args = [file];
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

export interface ServedFixture {
  url: string;
  port: number;
  /** Ends the server's process (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
}

/** Starts an HTTP fixture server (`http`: Streamable HTTP; `sse`: legacy SSE) in a process of its own. */
export function serveFixture(kind: 'http' | 'sse', name: string, port = 0): Promise<ServedFixture> {
  const child = spawn(process.execPath, [`${ROOT}test/fixtures/serve.mjs`, kind, name, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const { url, port: listening } = JSON.parse(out.slice(0, nl)) as { url: string; port: number };
      resolve({
        url,
        port: listening,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.once('exit', (code) => reject(new Error(`fixture ${kind} ${name} exited with ${code}: ${out}`)));
  });
}
