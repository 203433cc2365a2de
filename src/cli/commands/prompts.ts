import { type CommandContext, reportUnavailable, withListing } from '../context.js';
import { firstLine, table } from '../format.js';

export const help = `switchboard prompts [server] [--json]

Lists the prompts of every configured server (or of one), as server/prompt, with their arguments
(an argument with ? is optional). Get one with \`switchboard prompt <server>/<prompt> [key=value ...]\`.
--json prints one { server, name, qualifiedName, prompt } per prompt, with the prompt exactly as its
server listed it.
Exit code 1 if a server failed to start (its prompts are missing from the list).`;

export interface PromptArgument {
  name: string;
  description?: string;
  required?: boolean;
}

/** A prompt's arguments as `name` (required) and `name?` (optional). */
export function argumentList(args: PromptArgument[] | undefined): string {
  return (args ?? []).map((a) => (a.required ? a.name : `${a.name}?`)).join(' ');
}

export async function run(ctx: CommandContext): Promise<number> {
  return withListing(ctx, 'prompts', async (sb, server) => {
    const prompts = await sb.listPrompts({ signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs });
    if (ctx.flags.json) ctx.out(JSON.stringify(prompts, null, 2));
    else if (prompts.length === 0)
      ctx.out(server ? `'${server}' has no prompts` : 'no prompts (no server has any)');
    else
      ctx.out(
        table(
          prompts.map((p) => [
            `${p.server}/${p.name}`,
            argumentList(p.prompt.arguments as PromptArgument[] | undefined),
            firstLine(p.prompt.description),
          ]),
          ['PROMPT', 'ARGUMENTS', 'DESCRIPTION'],
        ),
      );
    return reportUnavailable(ctx, sb);
  });
}
