import { type CommandContext, reportUnavailable, withListing } from '../context.js';
import { firstLine, table } from '../format.js';

export const help = `switchboard tools [server] [--schema] [--json]

Lists the tools of every configured server (or of one), as server/tool. --schema shows each tool's
arguments under it: name, required or optional, and the argument's own JSON schema. --json prints one object per tool, { server, name, qualifiedName, tool }, where tool is
the tool exactly as its server listed it (inputSchema included).
Exit code 1 if a server failed to start (its tools are missing from the list).`;

export async function run(ctx: CommandContext): Promise<number> {
  return withListing(ctx, 'tools', async (sb, server) => {
    const tools = await sb.listTools({ signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs });
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
      ctx.out(server ? `'${server}' has no tools` : 'no tools (no server is running, or none has tools)');
    } else if (ctx.flags.schema) {
      ctx.out(
        tools
          .map(
            (t) =>
              `${t.server}/${t.name}  ${firstLine(t.tool.description)}\n${schemaLines(t.tool.inputSchema)}`,
          )
          .join('\n\n'),
      );
    } else {
      ctx.out(
        table(
          tools.map((t) => [`${t.server}/${t.name}`, firstLine(t.tool.description)]),
          ['TOOL', 'DESCRIPTION'],
        ),
      );
    }
    return reportUnavailable(ctx, sb);
  });
}

/** A tool's input schema, one argument a line: `  name  required  {"type":"string"}`. */
function schemaLines(inputSchema: unknown): string {
  const schema = (inputSchema ?? {}) as { properties?: Record<string, unknown>; required?: unknown };
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const rows = Object.entries(schema.properties ?? {}).map(([name, property]) => [
    `  ${name}`,
    required.has(name) ? 'required' : 'optional',
    JSON.stringify(property),
  ]);
  return rows.length ? table(rows, ['  ARGUMENT', 'REQUIRED', 'SCHEMA']) : '  (no arguments)';
}
