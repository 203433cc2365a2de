#!/usr/bin/env node
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { isSwitchboardError, RpcError, VERSION } from '../index.js';
import { type CommandContext, NotListedError, UsageError } from './context.js';

const COMMANDS: Record<string, () => Promise<{ run(ctx: CommandContext): Promise<number>; help: string }>> = {
  tools: () => import('./commands/tools.js'),
  call: () => import('./commands/call.js'),
  resources: () => import('./commands/resources.js'),
  read: () => import('./commands/read.js'),
  prompts: () => import('./commands/prompts.js'),
  prompt: () => import('./commands/prompt.js'),
  status: () => import('./commands/status.js'),
  supervise: () => import('./commands/supervise.js'),
  serve: () => import('./commands/serve.js'),
};

const HELP = `switchboard ${VERSION}: many MCP servers, every message to exactly its recipient

Usage:
  switchboard tools [server] [--schema]               list the tools (of one server), with input schemas
  switchboard call <server>/<tool> [key=value ...]    call one tool
  switchboard resources [server]                      list the resources
  switchboard read <server> <uri>                     read one resource
  switchboard prompts [server]                        list the prompts, with their arguments
  switchboard prompt <server>/<prompt> [key=value ...] get one prompt
  switchboard status                                  state of every server
  switchboard supervise                               keep every server running; reload on config edits
  switchboard serve --http [host:]port | --stdio      serve every server as one MCP server (the gateway)

Options:
  --config <file>   config file (default: $SWITCHBOARD_CONFIG, ./switchboard.json, ./.mcp.json,
                    then the bundled example config)
  --args <json>     call: the tool's arguments as a JSON object; @file reads it from a file,
                    - from stdin (for arguments too large for a command line)
  --json            machine-readable output
  --no-input        never ask: decline what servers ask the user (also when stdin is not a terminal)
  --root <dir>      a root given to servers (repeatable; default: the current folder)
  --schema          tools: show each tool's input schema
  --timeout <ms>    deadline per call
  --grace <ms>      supervise: how long running calls may finish on Ctrl-C/SIGTERM
  --http <[h:]port> serve: over Streamable HTTP (host defaults to 127.0.0.1)
  --stdio           serve: over stdin and stdout
  --token <t>       serve: the bearer token HTTP clients must send (or $SWITCHBOARD_TOKEN)
  --allow-host <h>  serve: another hostname the Host header may name (repeatable)
  --allow-origin <h> serve: another origin hostname browsers may call from (repeatable)
  --verbose         show which config is used, server stderr and warnings
  -h, --help        help (also: switchboard <command> --help)
  -v, --version     version

Exit codes: 0 success; 1 the call failed, a server said no (an unknown tool, prompt or resource) or is
unavailable; 2 usage or config error (an unknown server, a missing prompt argument).`;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\nRun 'switchboard --help' for usage.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [name, ...args] = positionals;
  if (!name) {
    process.stdout.write(`${HELP}\n`);
    return values.help ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`error: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  const command = await load();
  if (values.help) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  let timeoutMs: number | undefined;
  let graceMs: number | undefined;
  try {
    timeoutMs = milliseconds('--timeout', values.timeout);
    graceMs = milliseconds('--grace', values.grace);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${sig}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const ctx: CommandContext = {
    args,
    flags: {
      config: values.config,
      json: values.json ?? false,
      timeoutMs,
      graceMs,
      verbose: values.verbose ?? false,
      argsJson: values.args,
      noInput: values['no-input'] ?? false,
      roots: values.root ?? [],
      schema: values.schema ?? false,
      http: values.http,
      stdio: values.stdio,
      token: values.token,
      allowHosts: values['allow-host'],
      allowOrigins: values['allow-origin'],
    },
    signal: controller.signal,
    get stdin() {
      return process.stdin; // created on first use only: most commands never read it
    },
    stdinIsTerminal: isatty(0),
    stderr: process.stderr,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
  try {
    return await command.run(ctx);
  } catch (err) {
    return report(err, controller.signal.aborted);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      args: { type: 'string' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      grace: { type: 'string' },
      verbose: { type: 'boolean' },
      'no-input': { type: 'boolean' },
      root: { type: 'string', multiple: true },
      schema: { type: 'boolean' },
      http: { type: 'string' },
      stdio: { type: 'boolean' },
      token: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      'allow-origin': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}

function milliseconds(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} must be a whole number of milliseconds, got '${value}'`);
  return n;
}

function report(err: unknown, interrupted: boolean): number {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\nRun 'switchboard --help' for usage.\n`);
    return 2;
  }
  if (err instanceof NotListedError) {
    process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
  if (isSwitchboardError(err)) {
    process.stderr.write(`error [${err.code}]: ${err.message}\n`);
    if (err.code === 'E_CONFIG' || err.code === 'E_UNKNOWN_SERVER') return 2;
    return interrupted ? 130 : 1;
  }
  if (err instanceof RpcError) {
    process.stderr.write(`error [JSON-RPC ${err.code}]: ${err.message}\n`);
    if (err.data !== undefined) process.stderr.write(`data: ${JSON.stringify(err.data)}\n`);
    return 1;
  }
  process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

// The only place that exits: once stdout and stderr have drained, so no output is cut off, and even if
// a library left a handle open.
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  process.stderr.write(`internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  exit(1);
});
