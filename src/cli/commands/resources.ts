import { type CommandContext, reportUnavailable, withListing } from '../context.js';
import { firstLine, table } from '../format.js';

export const help = `switchboard resources [server] [--json]

Lists the resources of every configured server (or of one): server, URI, name and description. Read one
with \`switchboard read <server> <uri>\`. --json prints one { server, resource } per resource, with the
resource exactly as its server listed it.
Exit code 1 if a server failed to start (its resources are missing from the list).`;

export async function run(ctx: CommandContext): Promise<number> {
  return withListing(ctx, 'resources', async (sb, server) => {
    const resources = await sb.listResources({ signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs });
    if (ctx.flags.json) ctx.out(JSON.stringify(resources, null, 2));
    else if (resources.length === 0)
      ctx.out(server ? `'${server}' lists no resources` : 'no resources (no server lists any)');
    else
      ctx.out(
        table(
          resources.map(({ server, resource: r }) => [
            server,
            r.uri,
            String(r.title ?? r.name ?? ''),
            firstLine(String(r.description ?? r.mimeType ?? '')),
          ]),
          ['SERVER', 'URI', 'NAME', 'DESCRIPTION'],
        ),
      );
    return reportUnavailable(ctx, sb);
  });
}
