import { RpcError, type Switchboard } from '../../index.js';
import { type CommandContext, UsageError, withSwitchboard } from '../context.js';

export const help = `switchboard read <server> <uri> [--json]

Reads one resource and prints its contents: text as text, binary contents as a one-line summary (--json
prints the result exactly as the server sent it, blobs included). See the URIs with
\`switchboard resources <server>\`.
Exit code 1 if the server says no (an unknown URI: the message lists the URIs it has) or is unavailable.`;

interface Contents {
  uri?: string;
  mimeType?: string;
  text?: string;
  blob?: string;
}

export async function run(ctx: CommandContext): Promise<number> {
  const [server, uri, ...rest] = ctx.args;
  if (!server || !uri || rest.length > 0)
    throw new UsageError(
      `'read' takes a server and a URI: switchboard read <server> <uri>${ctx.args.length ? `, got: ${ctx.args.join(' ')}` : ''}`,
    );
  return withSwitchboard(ctx, { only: [server] }, async (sb) => {
    const opts = { signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs };
    let result: Record<string, unknown>;
    try {
      result = await sb.readResource(server, uri, opts);
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
      ctx.err(`error [JSON-RPC ${err.code}]: ${err.message}`);
      ctx.err(await whatThereIs(sb, server, opts));
      return 1;
    }
    if (ctx.flags.json) {
      ctx.out(JSON.stringify(result, null, 2));
      return 0;
    }
    const contents = (Array.isArray(result.contents) ? result.contents : []) as Contents[];
    const many = contents.length > 1;
    for (const c of contents) {
      if (many) ctx.out(`--- ${c.uri ?? uri}${c.mimeType ? ` (${c.mimeType})` : ''}`);
      if (typeof c.text === 'string') ctx.out(c.text);
      else if (typeof c.blob === 'string')
        ctx.out(`[blob ${c.mimeType ?? ''}, ${Math.floor((c.blob.length * 3) / 4)} bytes; --json shows it]`);
    }
    if (contents.length === 0) ctx.err(`'${server}' returned no contents for ${uri}`);
    return 0;
  });
}

/** The URIs a server lists, for the message after it refused one. */
async function whatThereIs(
  sb: Switchboard,
  server: string,
  opts: { signal: AbortSignal; timeoutMs?: number | undefined },
): Promise<string> {
  const listed = await sb.listResources(opts).catch(() => undefined);
  if (!listed) return `list its resources with \`switchboard resources ${server}\``;
  const uris = listed.filter((r) => r.server === server).map((r) => r.resource.uri);
  if (uris.length === 0) return `'${server}' lists no resources`;
  const shown = uris.slice(0, 20).join(', ');
  return `'${server}' lists: ${shown}${uris.length > 20 ? `, and ${uris.length - 20} more` : ''} (see \`switchboard resources ${server}\`)`;
}
