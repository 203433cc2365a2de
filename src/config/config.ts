import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { SwitchboardError } from '../core/errors.js';
import { DEFAULT_SEPARATOR } from '../core/names.js';
import { MAX_TIMER_MS } from '../core/validate.js';
import { parseDotenv } from './dotenv.js';
import { configError } from './error.js';
import { interpolate } from './interpolate.js';
import { stripJsonComments } from './jsonc.js';
import { parseToolFilter, type ToolFilter } from './tool-filter.js';

export type Isolation = 'inline' | 'thread';
/** `legacy`: the `initialize` handshake (2025-11-25 and older). `2026-07-28`: `server/discover` only. `auto`: probe, then fall back. */
export type ProtocolMode = 'auto' | 'legacy' | '2026-07-28';

export type TransportSpec =
  | { type: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string | undefined }
  | { type: 'http' | 'sse'; url: string; headers: Record<string, string> };

/** What the supervisor does when a server exits, fails to start, or stops answering `ping`. */
export interface RestartPolicy {
  /** Delay before the first restart after a failure; doubled for each further failure in a row (ms). */
  initialDelayMs: number;
  /** Cap on that delay (ms). */
  maxDelayMs: number;
  /** Each delay is moved at random by up to this fraction (0-1), so servers do not restart in step. */
  jitter: number;
  /** Failures in a row (failed starts, or runs shorter than `stableAfterMs`) before `crashloop`. */
  crashLoopAfter: number;
  /** In `crashloop`, how often one more start is tried (ms). */
  crashLoopRetryMs: number;
  /** A connection that stayed up this long clears the failure count (ms). */
  stableAfterMs: number;
}

/** Periodic `ping`; a server that misses `failures` in a row is restarted. */
export interface HealthPolicy {
  intervalMs: number;
  /** Deadline of one ping (ms). */
  timeoutMs: number;
  failures: number;
}

/**
 * Whether a call that was already sent when its server died is sent again after the restart. `annotated`:
 * only tools annotated `readOnlyHint` or `idempotentHint`, and the read-only methods (`resources/read`,
 * `prompts/get`, the lists, `completion/complete`, `ping`). `always`: every call. `never`: none.
 * At most one retry, within the call's own deadline.
 */
export type RetryPolicy = 'annotated' | 'always' | 'never';

export interface ServerOptions {
  /** Per-call deadline when the caller gives none, queue wait included (ms; 0 = none). */
  timeoutMs: number;
  /** Calls sent to the server at once; the rest wait in its mailbox. */
  maxInFlight: number;
  /** Calls allowed to wait; beyond it a call fails at once with E_QUEUE_FULL. */
  maxQueue: number;
  /** `inline`: the connection lives on the main event loop. `thread`: in a worker thread of its own. */
  isolation: Isolation;
  protocol: ProtocolMode;
  /** Deadline for starting the server and the handshake (ms). */
  startTimeoutMs: number;
  /** Largest message accepted from a stdio server (bytes). */
  maxMessageBytes: number;
  /** Grace period between closing stdin, SIGTERM and SIGKILL (ms). */
  closeGraceMs: number;
  /** `false`: a server that goes down stays down (`failed`). */
  restart: RestartPolicy | false;
  /** `false`: no health pings. */
  health: HealthPolicy | false;
  retry: RetryPolicy;
  /**
   * Client capabilities declared to the server whether or not the switchboard has a default handler for
   * them: on a 2025-era connection capabilities are fixed at `initialize`, so a server asks only for
   * what was declared there, and a call's own handlers reach it only for these (and the defaults).
   */
  advertise: ('sampling' | 'elicitation' | 'roots')[];
}

/**
 * For the gateway (`switchboard serve`): `shared`, one upstream connection for every downstream session;
 * `session`, one upstream process or connection per downstream session. The library itself ignores it.
 */
export type ServerScope = 'shared' | 'session';

export interface ServerConfig extends ServerOptions {
  name: string;
  enabled: boolean;
  transport: TransportSpec;
  /** Which of the server's tools are exposed; absent: all of them. See ToolFilter. */
  tools?: ToolFilter | undefined;
  /** Gateway only (the library ignores it): one upstream for all sessions, or one per session. */
  scope: ServerScope;
  /** Gateway only, with scope `session`: at most this many per-session upstreams at once. */
  maxSessions: number;
  /** Gateway only, with scope `session`: a session's upstream idle this long (ms) is closed. */
  idleMs: number;
  /**
   * Set when a `${...}` in this entry could not be resolved (an unset variable, a VS Code `${input:...}`):
   * E_CONFIG naming the file, the JSON path and the variable. This server alone fails, with this error,
   * and is never started; the others run. The rest of the entry is still valid, with the unresolved
   * `${...}` text left as written.
   */
  unresolved?: SwitchboardError | undefined;
}

export interface SwitchboardConfig {
  servers: ServerConfig[];
  /** Between server and tool in qualified names. */
  separator: string;
  /** The file it came from, if any. */
  source?: string | undefined;
  /** Things that were accepted but look wrong (unknown keys). */
  warnings: string[];
}

/** Defaults of the gateway's per-server fields. */
export const DEFAULT_SCOPE: ServerScope = 'shared';
export const DEFAULT_MAX_SESSIONS = 16;
export const DEFAULT_IDLE_MS = 300_000;

export const DEFAULT_RESTART: Readonly<RestartPolicy> = Object.freeze({
  initialDelayMs: 250,
  maxDelayMs: 30_000,
  jitter: 0.2,
  crashLoopAfter: 5,
  crashLoopRetryMs: 120_000,
  stableAfterMs: 30_000,
});

export const DEFAULT_HEALTH: Readonly<HealthPolicy> = Object.freeze({
  intervalMs: 30_000,
  timeoutMs: 10_000,
  failures: 2,
});

export const DEFAULT_OPTIONS: Readonly<Omit<ServerOptions, 'protocol'>> = Object.freeze({
  timeoutMs: 60_000,
  maxInFlight: 16,
  maxQueue: 256,
  isolation: 'inline',
  startTimeoutMs: 30_000,
  maxMessageBytes: 16 * 1024 * 1024,
  closeGraceMs: 2_000,
  restart: DEFAULT_RESTART,
  health: DEFAULT_HEALTH,
  retry: 'annotated',
  advertise: [],
});

/** A duration in ms: no more than a Node timer holds (about 24.8 days); a longer one would fire at once. */
const ms = (min = 0) =>
  z
    .number()
    .int()
    .min(min)
    .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest a timer can wait`);
// Unknown keys of a policy are dropped here (z.object strips them) and warned about in parseConfig.
const restartObject = z.object({
  initialDelayMs: ms().optional(),
  maxDelayMs: ms().optional(),
  jitter: z.number().min(0).max(1).optional(),
  crashLoopAfter: z.number().int().min(1).optional(),
  crashLoopRetryMs: ms(1).optional(),
  stableAfterMs: ms().optional(),
});
const healthObject = z.object({
  intervalMs: ms(10).optional(),
  timeoutMs: ms(1).optional(),
  failures: z.number().int().min(1).optional(),
});
const OFF_OR_OBJECT = 'expected false (off) or an object of settings';
const restartShape = z.union([z.literal(false), restartObject], { error: OFF_OR_OBJECT });
const healthShape = z.union([z.literal(false), healthObject], { error: OFF_OR_OBJECT });

const optionShape = {
  timeoutMs: ms().optional(),
  maxInFlight: z.number().int().min(1).max(100_000).optional(),
  maxQueue: z.number().int().min(0).max(1_000_000).optional(),
  isolation: z.enum(['inline', 'thread']).optional(),
  protocol: z.enum(['auto', 'legacy', '2026-07-28']).optional(),
  startTimeoutMs: ms(1).optional(),
  maxMessageBytes: z.number().int().min(1024).optional(),
  closeGraceMs: ms().optional(),
  restart: restartShape.optional(),
  health: healthShape.optional(),
  retry: z.enum(['annotated', 'always', 'never']).optional(),
  advertise: z.array(z.enum(['sampling', 'elicitation', 'roots'])).optional(),
};

const stringMap = z.record(z.string(), z.string());

const serverEntry = z.looseObject({
  type: z.enum(['stdio', 'http', 'sse', 'streamable-http', 'streamableHttp']).optional(),
  command: z.string().min(1, 'must not be empty').optional(),
  args: z.array(z.string()).optional(),
  env: stringMap.optional(),
  envFile: z.string().min(1, 'must not be empty').optional(),
  cwd: z.string().optional(),
  url: z.string().optional(),
  headers: stringMap.optional(),
  enabled: z.boolean().optional(),
  // Checked by parseToolFilter, whose errors say more than a schema's would.
  tools: z.unknown().optional(),
  scope: z
    .enum(['shared', 'session'], {
      error:
        'expected "shared" (one upstream for every gateway session) or "session" (one upstream per gateway session)',
    })
    .optional(),
  maxSessions: z.number().int().min(1).max(10_000).optional(),
  idleMs: ms(1).optional(),
  ...optionShape,
});

const switchboardSection = z.looseObject({
  separator: z.string().min(1).max(8).optional(),
  defaults: z.looseObject(optionShape).optional(),
});

const fileShape = z.looseObject({
  mcpServers: z.record(z.string(), z.unknown()).optional(),
  servers: z.record(z.string(), z.unknown()).optional(),
  switchboard: switchboardSection.optional(),
});

const KNOWN_TOP = new Set(['mcpServers', 'servers', 'switchboard', 'inputs', '$schema']);
const KNOWN_SERVER = new Set([...Object.keys(serverEntry.shape), 'description', 'disabled']);
/** Keys of a server entry the switchboard reads. Only these are interpolated: a `${VAR}` in a key that is
 * ignored (`description`, an unknown key) must not fail the server. */
const READ_SERVER = new Set(Object.keys(serverEntry.shape));
const KNOWN_DEFAULTS = new Set(Object.keys(optionShape));
const KNOWN_SWITCHBOARD = new Set(['separator', 'defaults']);
const KNOWN_POLICY = {
  restart: new Set(Object.keys(restartObject.shape)),
  health: new Set(Object.keys(healthObject.shape)),
};
/** The keys a server entry cannot do without: a near miss of one is named when both are missing. */
const ESSENTIAL_SERVER = new Set(['command', 'url']);
const URL_KEY = new Set(['url']);
const SERVER_SECTIONS = new Set(['mcpServers', 'servers']);
const SERVER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface LoadOptions {
  /** Variables for `${VAR}`; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Base for relative paths when the config is an object (a file's own folder otherwise). */
  cwd?: string;
}

/**
 * A config from any of the forms the switchboard takes: a file path (read, interpolated, validated), an
 * object of the file's shape (interpolated, validated), or a config this module already produced.
 */
export function loadConfig(source: string | object, opts: LoadOptions = {}): SwitchboardConfig {
  if (typeof source === 'string') return loadConfigFile(source, opts);
  const parsed = source as SwitchboardConfig;
  if (Array.isArray(parsed.servers) && typeof parsed.separator === 'string') return parsed;
  return parseConfig(source, opts);
}

/** Reads, interpolates and validates a config file. Errors name the file, the JSON path and the reason. */
export function loadConfigFile(path: string, opts: LoadOptions = {}): SwitchboardConfig {
  const file = resolve(opts.cwd ?? process.cwd(), path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw configError(
      file,
      '',
      code === 'ENOENT'
        ? 'file not found; pass --config <file> or create it'
        : `cannot read it: ${(err as Error).message}`,
      err,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonComments(text));
  } catch (err) {
    throw configError(file, '', `not valid JSON (comments are allowed): ${(err as Error).message}`, err);
  }
  return parseConfig(raw, { ...opts, cwd: dirname(file) }, file);
}

/** Validates a config object (the same shape as a file). */
export function parseConfig(raw: unknown, opts: LoadOptions = {}, source?: string): SwitchboardConfig {
  const where = source ?? '<config object>';
  const baseDir = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  // VS Code's ${workspaceFolder}: a file in `.vscode/` belongs to the folder that holds `.vscode/`; any
  // other file, to its own folder; a config object, to opts.cwd (or process.cwd()).
  const workspaceFolder =
    source !== undefined && basename(baseDir) === '.vscode' ? dirname(baseDir) : baseDir;
  const top = fileShape.safeParse(raw);
  if (!top.success) throw zodError(where, top.error);
  const warnings: string[] = [];
  const { mcpServers, servers, switchboard } = top.data;
  if (!mcpServers && !servers) {
    const expected = `"mcpServers" (Claude Desktop, Cursor) or "servers" (VS Code) with at least one entry`;
    const typo = nearMiss(top.data, SERVER_SECTIONS, KNOWN_TOP);
    if (typo) {
      throw configError(
        where,
        typo.key,
        `unknown key; did you mean '${typo.meant}'? Without it there are no servers: expected ${expected}`,
      );
    }
    throw configError(where, '', `no servers: expected ${expected}`);
  }
  warnUnknown(warnings, where, '', top.data, KNOWN_TOP);
  warnUnknown(warnings, where, 'switchboard', switchboard, KNOWN_SWITCHBOARD);
  const separator = switchboard?.separator ?? DEFAULT_SEPARATOR;
  const defaults = switchboard?.defaults ?? {};
  warnUnknown(warnings, where, 'switchboard.defaults', defaults, KNOWN_DEFAULTS);
  // The parsed policies have lost their unknown keys; warn from the text as written.
  const rawDefaults = (raw as { switchboard?: { defaults?: unknown } }).switchboard?.defaults;
  warnPolicies(warnings, where, 'switchboard.defaults', rawDefaults);
  if (isRecord(rawDefaults) && rawDefaults.tools !== undefined) {
    // Not a mere unknown key: ignored, it would expose every tool it was written to hide.
    throw configError(
      where,
      'switchboard.defaults.tools',
      'a tool filter applies to one server; move "tools" into the entry of each server it is meant for',
    );
  }
  const entries: [string, string, unknown][] = [
    ...Object.entries(mcpServers ?? {}).map(([n, v]) => ['mcpServers', n, v] as [string, string, unknown]),
    ...Object.entries(servers ?? {}).map(([n, v]) => ['servers', n, v] as [string, string, unknown]),
  ];
  const seen = new Set<string>();
  const out: ServerConfig[] = [];
  for (const [section, name, value] of entries) {
    const path = `${section}.${name}`;
    if (seen.has(name))
      throw configError(
        where,
        path,
        `server '${name}' is defined twice (in "mcpServers" and "servers"); keep one`,
      );
    seen.add(name);
    if (!SERVER_NAME.test(name)) {
      throw configError(
        where,
        path,
        `server name '${name}' may use only letters, digits, '_', '-', '.' (1-64 characters)`,
      );
    }
    if (name.includes(separator)) {
      throw configError(
        where,
        path,
        `server name '${name}' contains the name separator '${separator}'; rename it or set switchboard.separator`,
      );
    }
    // An interpolation error here fails this server alone (`unresolved`), not the whole config.
    const errors: SwitchboardError[] = [];
    const interpolated = isRecord(value)
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [
            k,
            READ_SERVER.has(k)
              ? interpolate(v, {
                  env,
                  configDir: baseDir,
                  workspaceFolder,
                  where,
                  path: `${path}.${k}`,
                  errors,
                })
              : v,
          ]),
        )
      : value;
    const literal = new Set(errors.map((err) => String(err.data.path)));
    const e = parseEntry(interpolated, literal, where, path);
    const tools = parseToolFilter(e.tools, where, `${path}.tools`, suggest);
    if (tools?.allow?.length === 0) {
      warnings.push(
        `${where}: tools.allow at ${path}.tools.allow is empty, so every tool of '${name}' is hidden; list the tools to expose, or remove "allow" to expose all`,
      );
    }
    warnUnknown(warnings, where, path, e, KNOWN_SERVER);
    warnPolicies(warnings, where, path, value);
    const unresolved = unresolvedError(errors);
    out.push({
      name,
      ...resolveEntry(e, defaults, baseDir, where, path, literal, warnings),
      ...(tools ? { tools } : {}),
      ...gatewayFields(e, where, path, warnings),
      ...(unresolved ? { unresolved } : {}),
    });
  }
  return { servers: out, separator, source, warnings };
}

type Entry = z.infer<typeof serverEntry>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Validates a server entry. `literal` holds the JSON paths of strings that kept an unresolved `${...}`:
 * a key that fails only because of one (`"type": "${KIND}"`) is dropped, as if absent, since the server
 * will not start anyway and the rest of the entry should still be a valid ServerConfig.
 */
function parseEntry(value: unknown, literal: ReadonlySet<string>, where: string, path: string): Entry {
  let parsed = serverEntry.safeParse(value);
  if (!parsed.success && literal.size > 0 && isRecord(value)) {
    const keys = parsed.error.issues.map((issue) => {
      const key = issue.path.length === 1 ? String(issue.path[0]) : undefined;
      return key !== undefined && literal.has(`${path}.${key}`) ? key : undefined;
    });
    if (keys.every((key) => key !== undefined)) {
      const copy = { ...value };
      for (const key of keys) delete copy[key];
      parsed = serverEntry.safeParse(copy);
    }
  }
  if (!parsed.success) throw zodError(where, parsed.error, path);
  return parsed.data;
}

/** The gateway's fields of an entry, with their defaults; a session setting without sessions is warned about. */
function gatewayFields(
  e: Entry,
  where: string,
  path: string,
  warnings: string[],
): Pick<ServerConfig, 'scope' | 'maxSessions' | 'idleMs'> {
  const scope = e.scope ?? DEFAULT_SCOPE;
  if (scope !== 'session') {
    for (const key of ['maxSessions', 'idleMs'] as const) {
      if (e[key] === undefined) continue;
      warnings.push(
        `${where}: ${key} at ${path}.${key} applies only with "scope": "session" (ignored); add that, or remove ${key}`,
      );
    }
  }
  return { scope, maxSessions: e.maxSessions ?? DEFAULT_MAX_SESSIONS, idleMs: e.idleMs ?? DEFAULT_IDLE_MS };
}

/** One error for a server entry: the first unresolved `${...}`, naming the others too. */
function unresolvedError(errors: readonly SwitchboardError[]): SwitchboardError | undefined {
  const [first, ...rest] = errors;
  if (!first || rest.length === 0) return first;
  const others = rest.map((err) => `${String(err.data.expression)} at ${String(err.data.path)}`).join(', ');
  return new SwitchboardError('E_CONFIG', `${first.message} (also in this entry: ${others})`, {
    data: { ...first.data, also: rest.map((err) => err.data) },
    cause: first,
  });
}

function resolveEntry(
  e: Entry,
  defaults: z.infer<typeof switchboardSection>['defaults'] & {},
  baseDir: string,
  where: string,
  path: string,
  literal: ReadonlySet<string>,
  warnings: string[],
): Omit<ServerConfig, 'name' | 'scope' | 'maxSessions' | 'idleMs'> {
  const type = e.type === 'streamable-http' || e.type === 'streamableHttp' ? 'http' : e.type;
  let transport: TransportSpec;
  if (type === 'http' || type === 'sse' || (type === undefined && e.url !== undefined)) {
    if (e.command !== undefined)
      throw configError(where, path, 'has both "command" and "url"; a server is either a process or a URL');
    if (!e.url) {
      const typo = nearMiss(e, URL_KEY, KNOWN_SERVER);
      if (typo) {
        throw configError(
          where,
          `${path}.${typo.key}`,
          `unknown key; did you mean '${typo.meant}'? Type "${type}" needs a "url"`,
        );
      }
      throw configError(where, `${path}.url`, `type "${type}" needs a "url"`);
    }
    const mustBeHttp = () => configError(where, `${path}.url`, `'${e.url}' must be http:// or https://`);
    if (literal.has(`${path}.url`)) {
      // An unresolved `${VAR}` is still in it: keep the text as written. Only a scheme written before
      // the first `${` is checked, as that part cannot change when the variable is set.
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(e.url.slice(0, e.url.indexOf('${')))?.[1];
      if (scheme !== undefined && !/^https?$/i.test(scheme)) throw mustBeHttp();
      transport = { type: type ?? 'http', url: e.url, headers: e.headers ?? {} };
    } else {
      let url: URL;
      try {
        url = new URL(e.url);
      } catch (err) {
        throw configError(where, `${path}.url`, `'${e.url}' is not a valid URL`, err);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw mustBeHttp();
      transport = { type: type ?? 'http', url: url.href, headers: e.headers ?? {} };
    }
    if (e.envFile !== undefined) {
      warnings.push(`${where}: envFile at ${path}.envFile applies to stdio servers only (ignored)`);
    }
  } else {
    if (!e.command) {
      const needs = '"command" (a process to start) or "url" (a server to connect to)';
      const typo = nearMiss(e, ESSENTIAL_SERVER, KNOWN_SERVER);
      if (typo) {
        throw configError(
          where,
          `${path}.${typo.key}`,
          `unknown key; did you mean '${typo.meant}'? The server needs ${needs}`,
        );
      }
      throw configError(where, path, `needs ${needs}`);
    }
    if (e.url !== undefined)
      throw configError(where, path, 'has both "command" and "url"; a server is either a process or a URL');
    transport = {
      type: 'stdio',
      command: e.command,
      args: e.args ?? [],
      // `env` entries win over the envFile's.
      env: { ...envFile(e.envFile, baseDir, where, `${path}.envFile`, literal, warnings), ...e.env },
      cwd: e.cwd === undefined ? undefined : isAbsolute(e.cwd) ? e.cwd : resolve(baseDir, e.cwd),
    };
  }
  const pick = <K extends keyof ServerOptions>(k: K): ServerOptions[K] | undefined =>
    (e[k] ?? defaults[k]) as ServerOptions[K] | undefined;
  return {
    enabled: e.enabled ?? (e as { disabled?: unknown }).disabled !== true,
    transport,
    timeoutMs: pick('timeoutMs') ?? DEFAULT_OPTIONS.timeoutMs,
    maxInFlight: pick('maxInFlight') ?? DEFAULT_OPTIONS.maxInFlight,
    maxQueue: pick('maxQueue') ?? DEFAULT_OPTIONS.maxQueue,
    isolation: pick('isolation') ?? DEFAULT_OPTIONS.isolation,
    // stdio: the SDK's default, one spawn; a probe could kill servers that exit on an unknown first request.
    protocol: pick('protocol') ?? (transport.type === 'http' ? 'auto' : 'legacy'),
    startTimeoutMs: pick('startTimeoutMs') ?? DEFAULT_OPTIONS.startTimeoutMs,
    maxMessageBytes: pick('maxMessageBytes') ?? DEFAULT_OPTIONS.maxMessageBytes,
    closeGraceMs: pick('closeGraceMs') ?? DEFAULT_OPTIONS.closeGraceMs,
    restart: policy(e.restart, defaults.restart, DEFAULT_RESTART),
    health: policy(e.health, defaults.health, DEFAULT_HEALTH),
    retry: pick('retry') ?? DEFAULT_OPTIONS.retry,
    advertise: [...new Set(pick('advertise') ?? DEFAULT_OPTIONS.advertise)],
  };
}

/**
 * The variables of a server's `envFile` (dotenv format; relative to the config file's folder). They go to
 * the child process only: like VS Code, they are not visible to `${VAR}` in the same entry, which is
 * interpolated from the switchboard's own environment before the file is read (its path may use them).
 */
function envFile(
  file: string | undefined,
  baseDir: string,
  where: string,
  path: string,
  literal: ReadonlySet<string>,
  warnings: string[],
): Record<string, string> {
  // A path with an unresolved `${VAR}` is not read: the server fails on the variable, not on the file.
  if (file === undefined || literal.has(path)) return {};
  const full = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw configError(
      where,
      path,
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `envFile ${full} not found; create it, or fix the path (a relative path starts at the config file's folder)`
        : `cannot read envFile ${full}: ${(err as Error).message}; fix the path or the file's permissions`,
      err,
    );
  }
  const { vars, problems } = parseDotenv(text);
  for (const { line, reason } of problems) {
    warnings.push(`${where}: envFile ${full} line ${line} ${reason} (ignored); read for ${path}`);
  }
  return vars;
}

/** A policy object: `false` anywhere turns it off; otherwise the entry's keys over the defaults' keys. */
function policy<T extends object>(
  own: Partial<T> | false | undefined,
  fromDefaults: Partial<T> | false | undefined,
  base: Readonly<T>,
): T | false {
  if (own === false || (own === undefined && fromDefaults === false)) return false;
  return { ...base, ...(fromDefaults || {}), ...(own ?? {}) };
}

/** Whether two server entries are the same in every respect. */
export function sameServer(a: ServerConfig, b: ServerConfig): boolean {
  return canonical(a) === canonical(b);
}

/** Options a running server can take in place: the switchboard's side of the connection only. */
const IN_PLACE: readonly (keyof ServerConfig)[] = [
  'timeoutMs',
  'maxInFlight',
  'maxQueue',
  'restart',
  'health',
  'retry',
  // The tool filter is applied by the switchboard to the list it already has.
  'tools',
  // Read by the gateway, not the library: the library's own connection does not depend on them.
  'scope',
  'maxSessions',
  'idleMs',
];

/** Whether going from `a` to `b` needs a new connection (the process, the URL, the handshake changed). */
export function needsRestart(a: ServerConfig, b: ServerConfig): boolean {
  const strip = (c: ServerConfig) => {
    const copy: Partial<ServerConfig> = { ...c };
    for (const key of IN_PLACE) delete copy[key];
    return canonical(copy);
  };
  return strip(a) !== strip(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    // An error (`unresolved`) is the same when its code and message are: a new parse makes a new object.
    if (v instanceof SwitchboardError) return { code: v.code, message: v.message };
    return v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v;
  });
}

export { configError };

function zodError(where: string, error: z.ZodError, prefix = ''): SwitchboardError {
  const issue = error.issues[0];
  // `restart: { initialDelayMs: 'soon' }` fails both `false` and the object: report the object's issue,
  // at its key, rather than the union's "Invalid input" at `restart`.
  let path = issue?.path ?? [];
  let message = issue?.message ?? 'invalid';
  let inner: z.core.$ZodIssue | undefined = issue;
  while (inner?.code === 'invalid_union') {
    const deepest = inner.errors
      .map((branch) => branch[0])
      .filter((first): first is z.core.$ZodIssue => first !== undefined && first.path.length > 0)
      .sort((x, y) => y.path.length - x.path.length)[0];
    if (!deepest) break;
    path = [...path, ...deepest.path];
    message = deepest.message;
    inner = deepest;
  }
  const sub = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return configError(where, `${prefix}${prefix ? sub : sub.replace(/^\./, '')}`, message, error);
}

/** Warns about each key of `value` (when it is an object) that is not in `known`. */
function warnUnknown(
  warnings: string[],
  where: string,
  path: string,
  value: unknown,
  known: ReadonlySet<string>,
) {
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    const meant = suggest(key, known);
    const at = path ? `${path}.${key}` : key;
    warnings.push(`${where}: unknown key at ${at} (ignored)${meant ? `; did you mean '${meant}'?` : ''}`);
  }
}

/** Unknown keys inside `restart` and `health` of a server entry or of switchboard.defaults. */
function warnPolicies(warnings: string[], where: string, path: string, holder: unknown) {
  if (!isRecord(holder)) return;
  for (const name of ['restart', 'health'] as const) {
    warnUnknown(warnings, where, `${path}.${name}`, holder[name], KNOWN_POLICY[name]);
  }
}

/** An unknown key of `value` that looks like a misspelling of one in `wanted`. */
function nearMiss(
  value: Record<string, unknown>,
  wanted: ReadonlySet<string>,
  known: ReadonlySet<string> = wanted,
): { key: string; meant: string } | undefined {
  for (const key of Object.keys(value)) {
    const meant = known.has(key) ? undefined : suggest(key, wanted);
    if (meant) return { key, meant };
  }
  return undefined;
}

/**
 * The known key closest to `key`, if it is close enough to be a typo: the same but for case, or at most
 * two edits away (one for keys of four characters or fewer, where two edits make most words alike).
 */
function suggest(key: string, known: ReadonlySet<string>): string | undefined {
  const lower = key.toLowerCase();
  let best: { meant: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(candidate.toLowerCase(), lower);
    const limit = Math.min(candidate.length, key.length) <= 4 ? 1 : 2;
    if (distance <= limit && (!best || distance < best.distance)) best = { meant: candidate, distance };
  }
  return best?.meant;
}

/** Edits (insert, delete, substitute, swap two neighbours) between a and b: optimal string alignment. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i]!;
      const up = d[i - 1]!;
      row[j] = Math.min(up[j]! + 1, row[j - 1]! + 1, up[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
  }
  return d[a.length]![b.length]!;
}
