import { type ChildProcess, spawn } from 'node:child_process';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { SwitchboardError } from '../core/errors.js';
import { classify, isKind } from '../core/jsonrpc.js';
import { LineDecoder } from './line-decoder.js';
import { signalTree, trackGroup, treeAlive, untrackGroup } from './process-tree.js';

export interface StdioSpec {
  command: string;
  args?: string[] | undefined;
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
}

export interface StdioOptions {
  /** Name used in errors and logs. */
  server: string;
  /** Largest message accepted from the server; a longer line is skipped and reported. */
  maxMessageBytes?: number | undefined;
  /** How long a server gets to exit after its stdin is closed, then after SIGTERM, before SIGKILL. */
  closeGraceMs?: number | undefined;
  /** Each line the server writes to stderr. */
  onStderr?: ((line: string) => void) | undefined;
  /** The process started, leading its own process group (`pid`): for whoever must end it if we cannot. */
  onSpawn?: ((pid: number) => void) | undefined;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_TAIL = 20;
const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;
const DEFAULT_GRACE = 2000;
/**
 * After the server's process exits, how long its stdout may stay open before the connection is ended
 * anyway. What it wrote before exiting is already in the pipe and is read within this time; a pipe still
 * open after it is held by a process the server started, which is no server of ours.
 */
const EXIT_DRAIN_MS = 100;

/**
 * MCP over a child process's stdin/stdout, newline-delimited.
 *
 * Own framing rather than the SDK's stdio client for three reasons the switchboard cannot give up: a line
 * that is not JSON-RPC is reported with the server's name instead of skipped silently, an oversized line
 * is skipped alone instead of clearing the buffer, and the child is spawned as a process group leader so
 * that closing it reaches the whole tree (`npx` wrappers included).
 */
export class StdioTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  readonly #spec: StdioSpec;
  readonly #opts: StdioOptions;
  #child: ChildProcess | undefined;
  #stderrTail: string[] = [];
  #stderrCarry = '';
  #exit: ExitInfo | undefined;
  #closing: Promise<void> | undefined;
  #closedFired = false;
  #exited: Promise<void> | undefined;
  /** A message was written in this turn of the event loop: the next ones queue in #out until its end. */
  #burst = false;
  /** Lines queued in this turn, written together at its end (one write() instead of one per message). */
  #out = '';
  /** Lines that were not JSON-RPC, and oversized lines: skipped, counted. */
  badLines = 0;

  constructor(spec: StdioSpec, opts: StdioOptions) {
    this.#spec = spec;
    this.#opts = opts;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** The last lines the server wrote to stderr, oldest first. */
  get stderrTail(): string[] {
    const tail = [...this.#stderrTail];
    if (this.#stderrCarry) tail.push(this.#stderrCarry);
    return tail.slice(-STDERR_TAIL);
  }

  start(): Promise<void> {
    if (this.#child) throw new Error(`stdio transport of '${this.#opts.server}' was already started`);
    const { command, args = [], env, cwd } = this.#spec;
    const server = this.#opts.server;
    return new Promise<void>((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(command, args, {
          env: { ...getDefaultEnvironment(), ...env },
          cwd,
          stdio: ['pipe', 'pipe', 'pipe'],
          // Own process group, so close() can signal the whole tree.
          detached: process.platform !== 'win32',
          windowsHide: true,
        });
      } catch (err) {
        reject(this.#spawnError(err));
        return;
      }
      this.#child = child;
      let exitResolve!: () => void;
      this.#exited = new Promise<void>((r) => {
        exitResolve = r;
      });
      const decoder = new LineDecoder(this.#opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE, {
        line: (text) => this.#onLine(text),
        oversized: (bytes, head) => {
          this.badLines++;
          const limit = this.#opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
          // If it was an answer, its caller hears why now, not at its deadline (the connection does that).
          const id = topLevelId(head);
          this.onerror?.(
            new SwitchboardError(
              'E_MESSAGE_TOO_LARGE',
              `'${server}' sent a ${bytes}-byte message${id === undefined ? '' : ` answering request ${id}`}, over the ${limit}-byte limit; it was skipped (raise maxMessageBytes for this server if it is legitimate)`,
              { data: { server, bytes, limit, id } },
            ),
          );
        },
      });
      child.stdout?.on('data', (chunk: Buffer) => decoder.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => this.#onStderr(chunk));
      child.stdin?.on('error', () => {
        // EPIPE after the child died: its exit is reported through 'close'.
      });
      child.once('spawn', () => {
        trackGroup(child.pid!);
        this.#opts.onSpawn?.(child.pid!);
        resolve();
      });
      child.once('error', (err) => {
        // Spawn failures arrive here instead of 'spawn'.
        if (child.pid === undefined) reject(this.#spawnError(err));
        else this.onerror?.(err);
      });
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        exitResolve();
        // The leader's exit is the connection's end, even if a process it started still holds stdout.
        const drained = setTimeout(() => {
          child.stdout?.destroy();
          this.#fireClose();
        }, EXIT_DRAIN_MS);
        child.once('close', () => clearTimeout(drained));
      });
      // 'close' comes after stdout has ended, so every message the server wrote before exiting is in.
      child.once('close', (code, signal) => {
        this.#exit ??= { code, signal };
        exitResolve();
        this.#fireClose();
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    try {
      this.write(message);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  /**
   * `send` without the promise, for the routing hot path: throws when the process cannot take the
   * message. The first message of a turn of the event loop is written at once (at concurrency 1 nothing
   * waits behind it); the ones that follow in the same turn leave together, in order, in one write when
   * its I/O callbacks are done (setImmediate), so a burst of calls costs two system calls rather than one
   * each. A turn, not a tick: calls that arrive on separate sockets in the same poll (the gateway's HTTP
   * requests) each run in a tick of their own, and batch only this way.
   */
  write(message: JSONRPCMessage): void {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable || this.#closing) throw this.#notRunning();
    const line = `${JSON.stringify(message)}\n`;
    if (this.#burst) {
      this.#out += line;
      return;
    }
    this.#burst = true;
    setImmediate(this.#flush);
    stdin.write(line);
  }

  #flush = (): void => {
    this.#burst = false;
    const out = this.#out;
    if (out.length === 0) return;
    this.#out = '';
    const stdin = this.#child?.stdin;
    // A process that is gone by now fails its calls through 'close', as if it had died after the write.
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(out);
  };

  #notRunning(): SwitchboardError {
    return new SwitchboardError(
      'E_UPSTREAM_CLOSED',
      `cannot send to '${this.#opts.server}': its process is not running`,
      { data: { server: this.#opts.server, ...this.#exit } },
    );
  }

  /**
   * Ends stdin, then SIGTERM, then SIGKILL to the whole process tree, each after a grace period (the
   * spec's stdio shutdown, basic/lifecycle). `now`: stdin and SIGTERM together, without waiting for the
   * server to exit on its own first; a later `now` cuts a graceful close short. `kill`: SIGKILL at once,
   * for a server that never finished its handshake (nothing of its is worth a grace period).
   */
  close(opts: { now?: boolean; kill?: boolean } = {}): Promise<void> {
    if (opts.now || opts.kill) this.#now?.();
    if (opts.kill && this.#child && this.#exit === undefined) signalTree(this.#child, 'SIGKILL');
    this.#closing ??= this.#shutdown(opts.now === true || opts.kill === true);
    return this.#closing;
  }

  /** Cuts the wait for a voluntary exit short, while a graceful close is in it. */
  #now: (() => void) | undefined;

  async #shutdown(now: boolean): Promise<void> {
    const child = this.#child;
    if (!child) {
      this.#fireClose();
      return;
    }
    const grace = this.#opts.closeGraceMs ?? DEFAULT_GRACE;
    if (this.#exit === undefined) {
      this.#flush(); // what was sent before close() goes out before the EOF
      child.stdin?.end();
      const voluntary = now ? false : await this.#waitExit(grace, (cut) => (this.#now = cut));
      this.#now = undefined;
      if (!voluntary) {
        signalTree(child, 'SIGTERM');
        if (!(await this.#waitExit(grace))) {
          signalTree(child, 'SIGKILL');
          await this.#waitExit(grace);
        }
      }
    }
    // The leader is gone; whatever it started and left behind goes too.
    if (treeAlive(child)) {
      signalTree(child, 'SIGTERM');
      await this.#treeGone(child, grace);
      if (treeAlive(child)) {
        signalTree(child, 'SIGKILL');
        // A killed process takes a moment to be gone: close() resolves when it is, not when it was told.
        await this.#treeGone(child, grace);
      }
    }
    if (!treeAlive(child)) untrackGroup(child.pid!);
    child.stdout?.destroy();
    child.stderr?.destroy();
    this.#fireClose();
  }

  /** Waits up to `ms` for every process of the child's group to be gone. */
  async #treeGone(child: ChildProcess, ms: number): Promise<void> {
    const until = Date.now() + ms;
    let step = 5;
    while (treeAlive(child) && Date.now() < until) {
      await sleep(step); // each look reads /proc: soon at first, then not too often
      step = Math.min(step * 2, 50);
    }
  }

  /** Waits up to `ms` for the process to exit; `cut` receives a function that ends the wait early. */
  #waitExit(ms: number, cut?: (end: () => void) => void): Promise<boolean> {
    if (this.#exit !== undefined) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      // Not unref'd: whoever awaits close() needs the loop alive until the tree is gone.
      const timer = setTimeout(() => resolve(false), ms);
      cut?.(() => {
        clearTimeout(timer);
        resolve(this.#exit !== undefined);
      });
      this.#exited?.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #onLine(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.#bad(text, 'not JSON');
      return;
    }
    const kind = classify(parsed);
    if (!isKind(kind)) {
      this.#bad(text, kind);
      return;
    }
    this.onmessage?.(parsed as JSONRPCMessage);
  }

  #bad(text: string, why: string): void {
    this.badLines++;
    const sample = text.length > 120 ? `${text.slice(0, 120)}…` : text;
    this.onerror?.(
      new SwitchboardError(
        'E_PROTOCOL',
        `'${this.#opts.server}' wrote a line to stdout that is not JSON-RPC (${why}); skipped. Servers must log to stderr, not stdout: ${JSON.stringify(sample)}`,
        { data: { server: this.#opts.server, reason: why } },
      ),
    );
  }

  #onStderr(chunk: Buffer): void {
    const text = this.#stderrCarry + chunk.toString('utf8');
    const lines = text.split('\n');
    this.#stderrCarry = (lines.pop() ?? '').slice(-4096);
    for (const line of lines) {
      const clean = line.replace(/\r$/, '');
      this.#stderrTail.push(clean.length > 1000 ? `${clean.slice(0, 1000)}…` : clean);
      if (this.#stderrTail.length > STDERR_TAIL) this.#stderrTail.shift();
      this.#opts.onStderr?.(clean);
    }
  }

  #spawnError(err: unknown): SwitchboardError {
    const code = (err as NodeJS.ErrnoException)?.code;
    const { command } = this.#spec;
    const hint =
      code === 'ENOENT'
        ? `command '${command}' was not found${this.#spec.cwd ? ` (cwd ${this.#spec.cwd})` : ''}: check the name, install it, or give its full path`
        : code === 'EACCES'
          ? `command '${command}' is not executable: check its permissions`
          : `could not start '${command}': ${(err as Error)?.message ?? String(err)}`;
    return new SwitchboardError('E_START_FAILED', `server '${this.#opts.server}': ${hint}`, {
      cause: err,
      data: { server: this.#opts.server, command, errno: code },
    });
  }

  #fireClose(): void {
    if (this.#closedFired) return;
    this.#closedFired = true;
    this.onclose?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The request id a JSON-RPC response answers, from the first bytes of its line: a number under the
 * top-level `id` key, in an object with a top-level `result` or `error` and no `method` (a server's own
 * request has an id too). A nested `"id"` is never taken for it: that would fail another call.
 */
export function topLevelId(head: string): number | undefined {
  let depth = 0;
  let id: number | undefined;
  let response = false;
  for (let i = 0; i < head.length; ) {
    const c = head[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < head.length && head[j] !== '"') j += head[j] === '\\' ? 2 : 1;
      if (j >= head.length) break;
      const key = head.slice(i + 1, j);
      i = j + 1;
      if (depth !== 1 || !/^\s*:/.test(head.slice(i, i + 8))) continue;
      if (key === 'method') return undefined;
      if (key === 'result' || key === 'error') response = true;
      if (key === 'id') {
        const m = /^\s*:\s*(-?\d+)\s*[,}]/.exec(head.slice(i, i + 40));
        if (m) id = Number(m[1]);
      }
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return response ? id : undefined;
}
