import type { Switchboard } from '../../index.js';
import { type CommandContext, findConfig, startSwitchboard, UsageError } from '../context.js';
import { firstLine } from '../format.js';

export const help = `switchboard supervise [--json] [--grace <ms>]

Starts every configured server and keeps them running: a server that exits or stops answering ping is
restarted with backoff (see "Supervision" in the README), and an edit to the config file restarts only
the servers whose entries changed (a broken edit is refused; the running config stays). Prints one line
per change of state, reload and catalog; --json prints one JSON object per line instead.

Ctrl-C or SIGTERM stops gracefully: running calls get --grace ms (default 10000) to finish, then every
server is closed, process trees included. A second signal stops at once.`;

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0) throw new UsageError(`'supervise' takes no arguments, got: ${ctx.args.join(' ')}`);
  const grace = ctx.flags.graceMs ?? 10_000;
  const file = findConfig(ctx.flags.config);
  const sb = await startSwitchboard(ctx);
  const print = (event: string, server: string, fields: Record<string, unknown>, text: string) => {
    if (ctx.flags.json) ctx.out(JSON.stringify({ time: new Date().toISOString(), event, server, ...fields }));
    else ctx.out(`${new Date().toISOString()}  ${server.padEnd(16)} ${text}`);
  };
  for (const s of sb.servers()) {
    print('state', s.name, { state: s.state, error: s.error }, describe(s.state, s.error?.message));
  }
  sb.on('state', ({ server, state, generation, error }) =>
    print('state', server, { state, generation, error: error?.message }, describe(state, error?.message)),
  );
  sb.on('catalog', ({ server, tools, changed }) => {
    if (changed) print('catalog', server, { tools }, `tool list changed: ${tools} tools`);
  });
  sb.on('reload', ({ report, error }) => {
    if (error) print('reload', '*', { error: error.message }, `config edit refused: ${error.message}`);
    else
      print(
        'reload',
        '*',
        { ...report },
        `config reloaded: ${report.changed.length} restarted, ${report.updated.length} updated in place, ${report.added.length} added, ${report.removed.length} removed, ${report.unchanged.length} untouched`,
      );
  });
  sb.watch();
  print('watching', '*', { config: file }, `supervising; watching ${file} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  return stop(sb, grace, print);
}

async function stop(
  sb: Switchboard,
  grace: number,
  print: (event: string, server: string, fields: Record<string, unknown>, text: string) => void,
): Promise<number> {
  const running = sb.servers().reduce((n, s) => n + s.running + s.queued, 0);
  print(
    'stopping',
    '*',
    { running, graceMs: grace },
    `stopping: ${running} calls get up to ${grace} ms to finish`,
  );
  let forced = false;
  const now = () => {
    forced = true;
    void sb.destroy(new Error('stopped by a second signal'));
  };
  // From here a second Ctrl-C/SIGTERM stops at once, still closing every process tree.
  process.on('SIGINT', now);
  process.on('SIGTERM', now);
  try {
    await sb.close({ timeoutMs: grace });
  } finally {
    process.off('SIGINT', now);
    process.off('SIGTERM', now);
  }
  print('stopped', '*', { forced }, forced ? 'stopped at once (second signal)' : 'stopped');
  return forced ? 130 : 0;
}

function describe(state: string, error: string | undefined): string {
  return error ? `${state.padEnd(11)} ${firstLine(error, 160)}` : state;
}
