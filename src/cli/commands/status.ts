import { type CommandContext, findConfig, UsageError, withSwitchboard } from '../context.js';
import { firstLine, table } from '../format.js';

export const help = `switchboard status [--json]

Starts every configured server once (no restarts) and shows its state, transport, protocol version and
tool count; a server that failed shows why. Exit code 1 if an enabled server is not ready.`;

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0) throw new UsageError(`'status' takes no arguments, got: ${ctx.args.join(' ')}`);
  return withSwitchboard(ctx, {}, async (sb) => {
    const report = await sb.status();
    if (ctx.flags.json) {
      ctx.out(JSON.stringify({ config: findConfig(ctx.flags.config), servers: report }, null, 2));
    } else {
      ctx.out(`config: ${findConfig(ctx.flags.config)}\n`);
      ctx.out(
        table(
          report.map((s) => [
            s.name,
            s.state,
            s.transport,
            s.isolation,
            s.protocolVersion ?? '-',
            String(s.tools),
            s.serverInfo ? `${s.serverInfo.name} ${s.serverInfo.version}` : '-',
            s.error ? firstLine(s.error.message, 100) : '',
          ]),
          ['SERVER', 'STATE', 'TRANSPORT', 'ISOLATION', 'PROTOCOL', 'TOOLS', 'SERVER INFO', 'ERROR'],
        ),
      );
    }
    return report.some((s) => s.state !== 'ready' && s.state !== 'disabled') ? 1 : 0;
  });
}
