import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ClientHandlers, type Root, type StartOptions, Switchboard } from '../index.js';
import { TerminalClient } from './terminal-client.js';

/** Everything a command gets: its own arguments, the common flags, and where to write. */
export interface CommandContext {
  args: string[];
  flags: CommonFlags;
  signal: AbortSignal;
  /** Where `call --args -` reads from. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Whether stdin is a terminal (checked without opening it). */
  stdinIsTerminal: boolean;
  /** Where questions to the user go (stderr), for a terminal reader. */
  stderr: NodeJS.WritableStream;
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface CommonFlags {
  config?: string | undefined;
  json: boolean;
  timeoutMs?: number | undefined;
  /** supervise: how long running calls may finish after Ctrl-C/SIGTERM. */
  graceMs?: number | undefined;
  verbose: boolean;
  /** call: --args: a JSON object, `@file` or `-` (stdin). */
  argsJson?: string | undefined;
  /** --no-input: never ask; decline what servers ask for. */
  noInput: boolean;
  /** --root (repeatable): the folders servers are given as roots; none means the current folder. */
  roots: string[];
  /** tools: --schema, each tool's input schema. */
  schema: boolean;
  /** serve: --http [host:]port. */
  http?: string | undefined;
  /** serve: --stdio. */
  stdio?: boolean | undefined;
  /** serve: --token. */
  token?: string | undefined;
  allowHosts?: string[] | undefined;
  allowOrigins?: string[] | undefined;
}

/** A usage mistake: exit code 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A name the server does not list (a prompt): exit code 1, like an unknown tool; the message lists what is there. */
export class NotListedError extends Error {
  override readonly name = 'NotListedError';
}

/** `<server>/<name>` split in two, or a usage error that shows the form. */
export function splitTarget(
  command: string,
  what: string,
  target: string | undefined,
): { server: string; name: string } {
  const slash = target?.indexOf('/') ?? -1;
  if (!target || slash <= 0 || slash === target.length - 1)
    throw new UsageError(
      `'${command}' needs a ${what} as <server>/<${what}>${target ? `, not '${target}'` : ''}; see \`switchboard ${what}s\``,
    );
  return { server: target.slice(0, slash), name: target.slice(slash + 1) };
}

/** key=value arguments as [key, value] pairs, or a usage error for one that is not. */
export function keyValues(pairs: string[]): [string, string][] {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new UsageError(`'${pair}' is not key=value; quote values with spaces: key='some value'`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  });
}

export const BUNDLED_CONFIG = fileURLToPath(new URL('../../../config/default.json', import.meta.url));

/**
 * Which config file a command uses: --config, then $SWITCHBOARD_CONFIG, then ./switchboard.json,
 * then ./.mcp.json in the current folder, then the bundled default (its own small servers).
 */
export function findConfig(flag: string | undefined, cwd = process.cwd()): string {
  if (flag) return resolve(cwd, flag);
  const env = process.env.SWITCHBOARD_CONFIG;
  if (env) return resolve(cwd, env);
  for (const name of ['switchboard.json', '.mcp.json']) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return BUNDLED_CONFIG;
}

/**
 * Starts the switchboard on the chosen config, with config warnings on stderr and, with --verbose, which
 * config is in use, every server's stderr and every warning. Those listeners go in through `on`, so they
 * hear start-up too: a server that fails to start usually says why on stderr.
 */
export async function startSwitchboard(
  ctx: CommandContext,
  opts: Pick<StartOptions, 'only' | 'restart'> & ClientHandlers = {},
): Promise<Switchboard> {
  const file = findConfig(ctx.flags.config);
  if (ctx.flags.verbose) ctx.err(`config: ${file}`);
  const on: StartOptions['on'] = ctx.flags.verbose
    ? {
        stderr: ({ server, line }) => ctx.err(`[${server}] ${line}`),
        warning: ({ server, error }) => ctx.err(`[${server}] warning: ${error.message}`),
      }
    : undefined;
  const sb = await Switchboard.start(file, { signal: ctx.signal, ...opts, on });
  for (const warning of sb.config.warnings) ctx.err(`warning: ${warning}`);
  return sb;
}

/**
 * For one-shot commands: starts the switchboard with restarts off (the command would exit before any
 * restart came, so a server that fails is `failed`, with its reason), runs `work`, and ends it: with
 * `close()` normally, with `destroy()` once Ctrl-C or SIGTERM came. An interrupted command exits as soon
 * as its cancellation is sent, not after each server's close grace.
 */
export async function withSwitchboard<T>(
  ctx: CommandContext,
  opts: Pick<StartOptions, 'only'>,
  work: (sb: Switchboard) => Promise<T>,
): Promise<T> {
  const client = terminalClient(ctx);
  let sb: Switchboard;
  try {
    sb = await startSwitchboard(ctx, { ...opts, restart: false, ...client.handlers() });
  } catch (err) {
    client.close();
    throw err;
  }
  try {
    return await work(sb);
  } finally {
    client.close();
    // A signal during the graceful close cuts it short too.
    const destroy = () => sb.destroy(ctx.signal.reason instanceof Error ? ctx.signal.reason : undefined);
    if (ctx.signal.aborted) await destroy();
    else {
      ctx.signal.addEventListener('abort', destroy, { once: true });
      try {
        await sb.close();
      } finally {
        ctx.signal.removeEventListener('abort', destroy);
      }
    }
  }
}

/**
 * A listing command (`tools`, `resources`, `prompts`): its one optional argument names a server, and only
 * that server is started (an unknown name is a usage error that lists the configured ones).
 */
export function withListing<T>(
  ctx: CommandContext,
  command: string,
  work: (sb: Switchboard, server: string | undefined) => Promise<T>,
): Promise<T> {
  if (ctx.args.length > 1)
    throw new UsageError(`'${command}' takes at most one server name, got: ${ctx.args.join(' ')}`);
  const [server] = ctx.args;
  return withSwitchboard(ctx, server ? { only: [server] } : {}, (sb) => work(sb, server));
}

/** For listings: a line on stderr for each server that is not available; 1 if there is one, else 0. */
export function reportUnavailable(ctx: CommandContext, sb: Switchboard): number {
  const failed = sb.servers().filter((s) => s.state !== 'ready' && s.state !== 'disabled');
  for (const s of failed) ctx.err(`error: server '${s.name}' is not available: ${s.error?.message}`);
  return failed.length > 0 ? 1 : 0;
}

/**
 * What the CLI answers servers with: questions on the terminal when stdin is one (and --no-input was not
 * given), a decline that says why otherwise; no model for sampling; the roots of --root, or the current
 * folder.
 */
export function terminalClient(ctx: CommandContext): TerminalClient {
  const roots = rootsOf(ctx.flags.roots);
  const noInput = ctx.flags.noInput
    ? 'of --no-input'
    : ctx.stdinIsTerminal
      ? undefined
      : 'stdin is not a terminal';
  return new TerminalClient({ input: () => ctx.stdin, output: ctx.stderr, noInput, roots });
}

/** --root folders as roots (file:// URIs), each checked to exist; the current folder without any. */
export function rootsOf(dirs: string[], cwd = process.cwd()): Root[] {
  if (dirs.length === 0) return [{ uri: pathToFileURL(cwd).href, name: basename(cwd) || cwd }];
  return dirs.map((dir) => {
    const path = resolve(cwd, dir);
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (err) {
      throw new UsageError(
        `--root ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message} (${path}); give a folder that exists`,
      );
    }
    if (!isDirectory) throw new UsageError(`--root ${dir} is a file (${path}); give a folder`);
    return { uri: pathToFileURL(path).href, name: basename(path) || path };
  });
}
