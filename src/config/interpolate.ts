import { homedir } from 'node:os';
import { basename, sep } from 'node:path';
import type { SwitchboardError } from '../core/errors.js';
import { configError } from './error.js';

export interface InterpolateContext {
  env: Record<string, string | undefined>;
  /** The folder of the config file, as `${configDir}`. */
  configDir: string;
  /** VS Code's `${workspaceFolder}`: the folder that holds `.vscode/`, or the config file's folder. */
  workspaceFolder: string;
  where: string;
  path: string;
  /**
   * When given, a variable that cannot be resolved is recorded here and its `${...}` text is left as
   * written, so one server's missing variable fails that server alone. Without it, the first one throws.
   */
  errors?: SwitchboardError[] | undefined;
}

/** Replaces variables in every string of a JSON value (keys are left alone). */
export function interpolate(value: unknown, ctx: InterpolateContext): unknown {
  if (typeof value === 'string') return interpolateString(value, ctx);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, { ...ctx, path: `${ctx.path}[${i}]` }));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, { ...ctx, path: `${ctx.path}.${k}` });
    return out;
  }
  return value;
}

/**
 * Built-ins, looked up before the environment. The VS Code ones follow its variables reference
 * (https://code.visualstudio.com/docs/reference/variables-reference), for the one folder we know.
 */
const BUILTINS = new Map<string, (ctx: InterpolateContext) => string>([
  ['configDir', (ctx) => ctx.configDir],
  ['workspaceFolder', (ctx) => ctx.workspaceFolder],
  ['workspaceFolderBasename', (ctx) => basename(ctx.workspaceFolder)],
  ['userHome', () => homedir()],
  ['pathSeparator', () => sep],
]);

/** VS Code variables about the open editor: there is no editor here. */
const EDITOR_ONLY = new Set([
  'file',
  'fileWorkspaceFolder',
  'fileWorkspaceFolderBasename',
  'relativeFile',
  'relativeFileDirname',
  'fileBasename',
  'fileBasenameNoExtension',
  'fileExtname',
  'fileDirname',
  'fileDirnameBasename',
  'lineNumber',
  'columnNumber',
  'selectedText',
]);

const INSTEAD = `use \${VAR} (an environment variable) or a literal value instead`;
const MULTI_ROOT = `names a folder of a multi-root VS Code workspace; the switchboard knows one folder, \${workspaceFolder}`;

/** What the switchboard cannot do for VS Code's `${prefix:argument}` forms. */
const VS_CODE_PREFIXES: Record<string, string> = {
  input: 'is a VS Code input: VS Code prompts for inputs and the switchboard cannot',
  command: 'runs a VS Code command, which the switchboard cannot',
  config: 'reads a VS Code setting, which the switchboard cannot',
  workspaceFolder: MULTI_ROOT,
  workspaceFolderBasename: MULTI_ROOT,
  extensionInstallFolder: 'is a VS Code extension folder, which the switchboard does not know',
};

const ENV_FORM = /^(env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

// `$${` is a literal `${`. Every other `${` must open a form below, or it is an error: a typo such as
// `${HOME:/tmp}` (no dash) should not reach a server as text.
function interpolateString(text: string, ctx: InterpolateContext): string {
  if (!text.includes('${')) return text;
  let out = '';
  let at = 0;
  for (;;) {
    const open = text.indexOf('${', at);
    if (open === -1) return out + text.slice(at);
    if (open > 0 && text[open - 1] === '$') {
      out += `${text.slice(at, open - 1)}\${`;
      at = open + 2;
      continue;
    }
    out += text.slice(at, open);
    const close = text.indexOf('}', open + 2);
    if (close === -1) {
      const rest = text.slice(open);
      fail(ctx, rest, `'${rest}' has no closing '}'; write $\${ for a literal \${`);
      return out + rest;
    }
    const expression = text.slice(open, close + 1);
    out += resolve(text.slice(open + 2, close), expression, ctx) ?? expression;
    at = close + 1;
  }
}

/** The value of one `${inner}`, or undefined (recorded in ctx.errors) when it has none. */
function resolve(inner: string, expression: string, ctx: InterpolateContext): string | undefined {
  const env = ENV_FORM.exec(inner);
  if (env) {
    const [, prefixed, name, fallback] = env as unknown as [
      string,
      string | undefined,
      string,
      string | undefined,
    ];
    if (!prefixed) {
      const builtin = BUILTINS.get(name);
      if (builtin) return builtin(ctx);
      if (EDITOR_ONLY.has(name)) {
        return fail(
          ctx,
          expression,
          `${expression} is a VS Code variable of the open editor, which the switchboard does not have; ${INSTEAD}`,
        );
      }
    }
    // Shell semantics: ${VAR} of an empty VAR is ""; ${VAR:-default} defaults when VAR is unset or empty.
    // Own keys only: `${constructor}` is a variable, not Object.prototype's.
    const value = Object.hasOwn(ctx.env, name) ? ctx.env[name] : undefined;
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    return fail(
      ctx,
      expression,
      `environment variable ${name} is not set; set it, or write \${${name}:-default}`,
      {
        variable: name,
      },
    );
  }
  if (inner === '/') return sep;
  const prefix = /^([A-Za-z]+):/.exec(inner)?.[1];
  const cannot =
    prefix !== undefined && Object.hasOwn(VS_CODE_PREFIXES, prefix) ? VS_CODE_PREFIXES[prefix] : undefined;
  if (cannot) return fail(ctx, expression, `${expression} ${cannot}; ${INSTEAD}`);
  return fail(
    ctx,
    expression,
    `'${expression}' is not a variable the switchboard knows; write \${VAR}, \${VAR:-default} or \${env:VAR}, or $\${ for a literal \${`,
  );
}

function fail(
  ctx: InterpolateContext,
  expression: string,
  reason: string,
  data: Record<string, unknown> = {},
): undefined {
  const err = configError(ctx.where, ctx.path, reason, undefined, { ...data, expression });
  if (!ctx.errors) throw err;
  ctx.errors.push(err);
  return undefined;
}
