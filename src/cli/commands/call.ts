import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type CallOptions, type CallToolResult, type Switchboard, SwitchboardError } from '../../index.js';
import { type CommandContext, keyValues, UsageError, withSwitchboard } from '../context.js';
import { renderContent } from '../format.js';

export const help = `switchboard call <server>/<tool> [--args '<json object>' | @file | -] [key=value ...] [--json] [--timeout <ms>]

Calls one tool and prints its result. Arguments come from --args and key=value pairs (a pair wins over
--args). --args takes a JSON object, @file to read it from a file (relative to the current folder), or -
to read it from stdin: use a file or stdin for arguments too large for a command line. A key=value value
is kept as a string where the tool's schema says string, and read as JSON (number, boolean, array,
object) otherwise. <server>__<tool> (the qualified name) works too.
Progress goes to stderr. Ctrl-C cancels the call on the server, then exits at once (code 130).
Exit code 1 if the call failed or the tool reported an error (isError).

What the server asks while it works: a question for you (elicitation) is asked on the terminal, field by
field, or as a URL to open; with --no-input, or when stdin is not a terminal, it is declined with a note
on stderr. Sampling (an LLM completion) is declined: the CLI has no model. The roots are the current
folder, or each --root <dir>.`;

export async function run(ctx: CommandContext): Promise<number> {
  const [target, ...pairs] = ctx.args;
  if (!target) throw new UsageError("'call' needs a tool: switchboard call <server>/<tool>");
  const slash = target.indexOf('/');
  const given = keyValues(pairs);
  const args = await readArgs(ctx);
  const server = slash > 0 ? target.slice(0, slash) : undefined;
  return withSwitchboard(ctx, server ? { only: [server] } : {}, async (sb) => {
    const ref = server ? { server, name: target.slice(slash + 1) } : sb.resolveTool(target);
    if (!ref?.name) {
      throw new UsageError(
        `'${target}' is not <server>/<tool> or a known qualified name; see \`switchboard tools\``,
      );
    }
    const schema = await propertyTypes(sb, ref.server, ref.name, {
      signal: ctx.signal,
      timeoutMs: ctx.flags.timeoutMs,
    });
    for (const [key, raw] of given) args[key] = coerce(raw, schema.get(key));
    const result: CallToolResult = await sb.callTool(ref.server, ref.name, args, {
      signal: ctx.signal,
      timeoutMs: ctx.flags.timeoutMs,
      onProgress: ctx.flags.json
        ? undefined
        : (p) =>
            ctx.err(
              `progress: ${p.progress}${p.total !== undefined ? `/${p.total}` : ''}${p.message ? ` ${p.message}` : ''}`,
            ),
    });
    if (ctx.flags.json) ctx.out(JSON.stringify(result, null, 2));
    else if (result.isError)
      ctx.err(`${ref.server}/${ref.name} reported an error:\n${renderContent(result)}`);
    else ctx.out(renderContent(result));
    return result.isError ? 1 : 0;
  });
}

/**
 * The --args object: inline JSON, `@file` (relative to the current folder) or `-` (stdin). Files and
 * stdin are there for arguments larger than the OS allows on a command line (a few hundred KB to 2 MB).
 */
async function readArgs(ctx: CommandContext): Promise<Record<string, unknown>> {
  const spec = ctx.flags.argsJson;
  if (spec === undefined) return {};
  let text: string;
  let where: string; // how messages name the source
  if (spec === '-') {
    where = '--args -: stdin';
    text = await readStdin(ctx);
  } else if (spec.startsWith('@')) {
    if (spec.length === 1) throw new UsageError('--args @ needs a file name: --args @args.json');
    const path = resolve(spec.slice(1));
    where = `--args ${spec}: ${path}`;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new UsageError(`${where} was not found; give a file that holds the arguments as a JSON object`);
      throw new UsageError(`--args ${spec}: cannot read ${path}: ${(err as Error).message}`);
    }
  } else {
    where = '--args';
    text = spec;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(
      where === '--args'
        ? `--args must be a JSON object like '{"key": "value"}', got ${describe(parsed)}`
        : `${where} must hold a JSON object like {"key": "value"}, not ${describe(parsed)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** All of stdin as text; Ctrl-C while waiting for it ends the command (code 130). */
function readStdin(ctx: CommandContext): Promise<string> {
  const stdin = ctx.stdin;
  if (stdin.isTTY) ctx.err('reading the --args JSON object from stdin; end it with Ctrl-D');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => {
      done();
      reject(new UsageError(`--args -: cannot read stdin: ${err.message}`));
    };
    const onAbort = () => {
      done();
      reject(
        new SwitchboardError(
          'E_ABORTED',
          `reading --args from stdin was stopped: ${(ctx.signal.reason as Error | undefined)?.message ?? 'aborted'}`,
          { cause: ctx.signal.reason },
        ),
      );
    };
    const done = () => {
      stdin.off('data', onData).off('end', onEnd).off('error', onError);
      ctx.signal.removeEventListener('abort', onAbort);
      stdin.pause();
    };
    if (ctx.signal.aborted) return onAbort();
    stdin.on('data', onData).once('end', onEnd).once('error', onError);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
  });
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return 'a string';
  return String(value); // null, a number or a boolean
}

/** The declared JSON type of each top-level property, from the tool's inputSchema (if it is listed). */
async function propertyTypes(
  sb: Switchboard,
  server: string,
  tool: string,
  opts: CallOptions,
): Promise<Map<string, unknown>> {
  const types = new Map<string, unknown>();
  try {
    const tools = await sb.listTools(opts);
    const entry = tools.find((t) => t.server === server && t.name === tool);
    const props = (entry?.tool.inputSchema as { properties?: Record<string, { type?: unknown }> } | undefined)
      ?.properties;
    for (const [k, v] of Object.entries(props ?? {})) types.set(k, v?.type);
  } catch (err) {
    if (err instanceof SwitchboardError && err.code === 'E_ABORTED') throw err;
  }
  return types;
}

function coerce(raw: string, type: unknown): unknown {
  const wantsString =
    type === 'string' || (Array.isArray(type) && type.includes('string') && type.length === 1);
  if (wantsString) return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
