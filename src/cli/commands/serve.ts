import { Gateway } from '../../index.js';
import { type CommandContext, findConfig, UsageError } from '../context.js';

export const help = `switchboard serve --http [host:]port [--token <t>] | --stdio

Serves every configured server as one MCP server (the gateway):
  --http [host:]port   Streamable HTTP at http://host:port/mcp (host defaults to 127.0.0.1; port 0 picks
                       a free one). Each server alone, with its own names: /servers/<name>/mcp.
                       Both protocol eras (2025-11-25 sessions and 2026-07-28 requests) on the same URL.
  --stdio              MCP over this process's stdin and stdout, for an editor that starts it as a command.
  --token <t>          HTTP: every request must carry "Authorization: Bearer <t>" (or set SWITCHBOARD_TOKEN).
  --allow-host <h>     HTTP: a hostname the Host header may name besides localhost (repeatable).
  --allow-origin <h>   HTTP: an origin hostname a browser page may call from (repeatable).

Ctrl-C or SIGTERM stops it: running calls are cancelled upstream, every server is closed.`;

export async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0) throw new UsageError(`'serve' takes no arguments, got: ${ctx.args.join(' ')}`);
  const { http, stdio } = ctx.flags;
  if (!http && !stdio) throw new UsageError("'serve' needs --http [host:]port or --stdio");
  if (http && stdio) throw new UsageError("'serve' takes --http or --stdio, not both");
  const listen = http ? parseListen(http) : undefined;
  const token = ctx.flags.token !== undefined ? ctx.flags.token : process.env.SWITCHBOARD_TOKEN;
  if (token !== undefined && token.trim() === '')
    throw new UsageError(
      ctx.flags.token !== undefined
        ? '--token is empty (an unset variable?); give the token, or leave --token out to serve without one'
        : 'SWITCHBOARD_TOKEN is set but empty; unset it to serve without a token, or give it a value',
    );
  const file = findConfig(ctx.flags.config);
  let stopped: (() => void) | undefined;
  let early = false;
  const stop = (why: string) => {
    if (ctx.flags.verbose) ctx.err(`stopping: ${why}`);
    if (stopped) stopped();
    else early = true;
  };
  // In stdio mode stdout is the protocol: everything else goes to stderr.
  const say = stdio ? ctx.err : ctx.out;
  if (ctx.flags.verbose) ctx.err(`config: ${file}`);
  // From the start, a signal after the first (which the bin turns into ctx.signal) stops at once: during
  // start-up the aborted start is already ending every server; after it, the gateway is destroyed.
  let forced = false;
  let started: Gateway | undefined;
  let signals = ctx.signal.aborted ? 1 : 0;
  const now = () => {
    // The first signal is the bin's (a graceful stop); only a later one forces.
    if (++signals < 2) return;
    forced = true;
    void started?.destroy();
  };
  process.on('SIGINT', now);
  process.on('SIGTERM', now);
  try {
    return await serve();
  } finally {
    process.off('SIGINT', now);
    process.off('SIGTERM', now);
  }

  async function serve(): Promise<number> {
    const gateway = await Gateway.start(file, {
      signal: ctx.signal,
      ...(listen ? { http: listen } : {}),
      token,
      allowedHosts: ctx.flags.allowHosts,
      allowedOrigins: ctx.flags.allowOrigins,
      onWarning: (message) => ctx.err(`warning: ${message}`),
    });
    started = gateway;
    const servers = gateway.switchboard.servers();
    for (const warning of gateway.switchboard.config.warnings) ctx.err(`warning: ${warning}`);
    for (const s of servers)
      if (s.state !== 'ready' && s.state !== 'disabled')
        ctx.err(`warning: server '${s.name}' is ${s.state}${s.error ? `: ${s.error.message}` : ''}`);
    const names = gateway.switchboard.config.servers.map((s) => s.name);
    if (gateway.url) {
      say(`mcp-switchboard gateway: ${gateway.url}  (${names.length} servers: ${names.join(', ')})`);
      say(`one server alone: ${gateway.url.replace(/\/mcp$/, '')}/servers/<name>/mcp`);
      say('');
      say('Point an MCP client at it, for example (.mcp.json, Claude Code, Cursor, VS Code "servers"):');
      const entry: Record<string, unknown> = { type: 'http', url: gateway.url };
      if (token) entry.headers = { Authorization: 'Bearer <your token>' };
      say(JSON.stringify({ mcpServers: { switchboard: entry } }, null, 2));
      say('');
      say('Ctrl-C to stop.');
    } else {
      gateway.serveStdio();
      // The client closing our stdin is the end of the connection (the stdio transport's shutdown): stop.
      process.stdin.once('end', () => stop('stdin closed'));
      process.stdin.once('close', () => stop('stdin closed'));
      say(`mcp-switchboard gateway on stdio (${names.length} servers: ${names.join(', ')})`);
    }
    await new Promise<void>((resolve) => {
      stopped = resolve;
      if (ctx.signal.aborted || early) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    say('stopping');
    await gateway.close({ timeoutMs: ctx.flags.graceMs ?? 5000 });
    return forced ? 130 : 0;
  }
}

/** `port`, `host:port` or `[v6]:port`. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(value.trim());
  if (!match)
    throw new UsageError(`--http takes [host:]port (for example 8931 or 127.0.0.1:8931), got '${value}'`);
  const host = (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, '');
  const port = Number(match[2]);
  if (port > 65535) throw new UsageError(`--http: port ${port} is over 65535`);
  return { host, port };
}
