import { type CallToolResult, type Switchboard, SwitchboardError } from '../../index.js';
import { type CommandContext, UsageError, withSwitchboard } from '../context.js';
import { renderContent } from '../format.js';

export const help = `switchboard call <server>/<tool> [--args '<json object>'] [key=value ...] [--json] [--timeout <ms>]

Calls one tool and prints its result. Arguments come from --args (a JSON object) and key=value pairs
(a pair wins over --args). A value is kept as a string where the tool's schema says string, and read as
JSON (number, boolean, array, object) otherwise. <server>__<tool> (the qualified name) works too.
Progress goes to stderr. Ctrl-C cancels the call on the server, then exits at once (code 130).
Exit code 1 if the call failed or the tool reported an error (isError).`;

export async function run(ctx: CommandContext): Promise<number> {
  const [target, ...pairs] = ctx.args;
  if (!target) throw new UsageError("'call' needs a tool: switchboard call <server>/<tool>");
  const slash = target.indexOf('/');
  let args: Record<string, unknown> = {};
  const json = ctx.flags.argsJson;
  if (json !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`--args is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UsageError(
        `--args must be a JSON object like '{"key": "value"}', got ${Array.isArray(parsed) ? 'an array' : JSON.stringify(parsed)}`,
      );
    }
    args = parsed as Record<string, unknown>;
  }
  for (const pair of pairs) {
    if (!pair.includes('='))
      throw new UsageError(`'${pair}' is not key=value; quote values with spaces: key='some value'`);
  }
  const server = slash > 0 ? target.slice(0, slash) : undefined;
  return withSwitchboard(ctx, server ? { only: [server] } : {}, async (sb) => {
    const ref = server ? { server, name: target.slice(slash + 1) } : sb.resolveTool(target);
    if (!ref?.name) {
      throw new UsageError(
        `'${target}' is not <server>/<tool> or a known qualified name; see \`switchboard tools\``,
      );
    }
    const schema = await propertyTypes(sb, ref.server, ref.name);
    for (const pair of pairs) {
      const at = pair.indexOf('=');
      const key = pair.slice(0, at);
      const raw = pair.slice(at + 1);
      args[key] = coerce(raw, schema.get(key));
    }
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

/** The declared JSON type of each top-level property, from the tool's inputSchema (if it is listed). */
async function propertyTypes(sb: Switchboard, server: string, tool: string): Promise<Map<string, unknown>> {
  const types = new Map<string, unknown>();
  try {
    const tools = await sb.listTools();
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
