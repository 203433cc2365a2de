import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StartOptions, Switchboard } from '../index.js';

/** Everything a command gets: its own arguments, the common flags, and where to write. */
export interface CommandContext {
  args: string[];
  flags: CommonFlags;
  signal: AbortSignal;
  /** Where `call --args -` reads from. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
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
}

/** A usage mistake: exit code 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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
  opts: Pick<StartOptions, 'only' | 'restart'> = {},
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
  const sb = await startSwitchboard(ctx, { ...opts, restart: false });
  try {
    return await work(sb);
  } finally {
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
