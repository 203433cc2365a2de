import { type CommandContext, UsageError, withSwitchboard } from '../context.js';
import { firstLine, table } from '../format.js';

export const help = `switchboard tools [--json]

Lists the tools of every configured server, as server/tool. --json prints one object per tool,
{ server, name, qualifiedName, tool }, where tool is the tool exactly as its server listed it.
Exit code 1 if a server failed to start (its tools are missing from the list).`;

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0) throw new UsageError(`'tools' takes no arguments, got: ${ctx.args.join(' ')}`);
  return withSwitchboard(ctx, {}, async (sb) => {
    const tools = await sb.listTools({ signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs });
    const failed = sb.servers().filter((s) => s.state !== 'ready' && s.state !== 'disabled');
    if (ctx.flags.json) {
      // The tool nested, not spread: whatever fields it has (title, annotations, outputSchema, or one
      // named `server`) come through untouched and cannot replace ours. The same shape as listTools().
      ctx.out(
        JSON.stringify(
          tools.map((t) => ({
            server: t.server,
            name: t.name,
            qualifiedName: t.qualifiedName,
            tool: t.tool,
          })),
          null,
          2,
        ),
      );
    } else if (tools.length === 0) {
      ctx.out('no tools (no server is running, or none has tools)');
    } else {
      ctx.out(
        table(
          tools.map((t) => [`${t.server}/${t.name}`, firstLine(t.tool.description)]),
          ['TOOL', 'DESCRIPTION'],
        ),
      );
    }
    for (const s of failed) ctx.err(`error: server '${s.name}' is not available: ${s.error?.message}`);
    return failed.length > 0 ? 1 : 0;
  });
}
