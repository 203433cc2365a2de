import {
  type CommandContext,
  keyValues,
  NotListedError,
  splitTarget,
  UsageError,
  withSwitchboard,
} from '../context.js';
import { renderContent } from '../format.js';
import { argumentList, type PromptArgument } from './prompts.js';

export const help = `switchboard prompt <server>/<prompt> [key=value ...] [--json]

Gets one prompt with its arguments (key=value, as strings) and prints its messages as [role] text.
--json prints the result exactly as the server sent it. See the prompts and their arguments with
\`switchboard prompts\`.
Exit code 2 if a required argument is missing or one is not the prompt's; 1 if the server has no such
prompt (the message lists the prompts it has), says no, or is unavailable.`;

interface PromptMessage {
  role?: string;
  content?: unknown;
}

export async function run(ctx: CommandContext): Promise<number> {
  const [target, ...pairs] = ctx.args;
  const { server, name } = splitTarget('prompt', 'prompt', target);
  const args = Object.fromEntries(keyValues(pairs));
  return withSwitchboard(ctx, { only: [server] }, async (sb) => {
    const opts = { signal: ctx.signal, timeoutMs: ctx.flags.timeoutMs };
    // Checked against the server's own list, when it is up (else the call below says why it is not).
    if (sb.servers().find((s) => s.name === server)?.state === 'ready') {
      const prompts = (await sb.listPrompts(opts)).filter((p) => p.server === server);
      const prompt = prompts.find((p) => p.name === name)?.prompt;
      if (!prompt) {
        throw new NotListedError(
          prompts.length === 0
            ? `'${server}' has no prompts`
            : `'${server}' has no prompt '${name}'; it has ${prompts.map((p) => p.name).join(', ')} (see \`switchboard prompts ${server}\`)`,
        );
      }
      checkArguments(`${server}/${name}`, (prompt.arguments ?? []) as PromptArgument[], args);
    }
    const result = await sb.getPrompt(server, name, args, opts);
    if (ctx.flags.json) {
      ctx.out(JSON.stringify(result, null, 2));
      return 0;
    }
    if (typeof result.description === 'string' && result.description) ctx.err(result.description);
    const messages = (Array.isArray(result.messages) ? result.messages : []) as PromptMessage[];
    for (const m of messages) ctx.out(`[${m.role ?? '?'}] ${renderContent({ content: [m.content] })}`);
    return 0;
  });
}

/** Every required argument given, and none the prompt does not declare; else a usage error saying which. */
function checkArguments(prompt: string, declared: PromptArgument[], given: Record<string, string>): void {
  const usage = `its arguments: ${argumentList(declared) || '(none)'} (an argument with ? is optional)`;
  const unknown = Object.keys(given).filter((k) => !declared.some((a) => a.name === k));
  if (unknown.length > 0)
    throw new UsageError(
      `prompt '${prompt}' has no argument ${unknown.map((k) => `'${k}'`).join(', ')}; ${usage}`,
    );
  const missing = declared.filter((a) => a.required && !(a.name in given));
  if (missing.length > 0) {
    const what = missing
      .map((a) => `${a.name}=<value>${a.description ? ` (${a.description})` : ''}`)
      .join(', ');
    throw new UsageError(`prompt '${prompt}' needs ${what}; ${usage}`);
  }
}
