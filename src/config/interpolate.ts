import type { SwitchboardError } from '../core/errors.js';
import { configError } from './error.js';

export interface InterpolateContext {
  env: Record<string, string | undefined>;
  /** The folder of the config file, as `${configDir}`. */
  configDir: string;
  where: string;
  path: string;
  /**
   * When given, a variable that cannot be resolved is recorded here and its `${...}` text is left as
   * written, so one server's missing variable fails that server alone. Without it, the first one throws.
   */
  errors?: SwitchboardError[] | undefined;
}

// ${VAR}, ${VAR:-default}, ${env:VAR} (VS Code's spelling); $${ is a literal ${.
const PATTERN = /\$\$\{|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

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

function interpolateString(text: string, ctx: InterpolateContext): string {
  if (!text.includes('${')) return text;
  return text.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    if (name === 'configDir') return ctx.configDir;
    // Shell semantics: ${VAR} of an empty VAR is ""; ${VAR:-default} defaults when VAR is unset or empty.
    const value = ctx.env[name!];
    if (value !== undefined && (value !== '' || fallback === undefined)) return value;
    if (fallback !== undefined) return fallback;
    const err = configError(
      ctx.where,
      ctx.path,
      `environment variable ${name} is not set; set it, or write \${${name}:-default}`,
      undefined,
      { variable: name, expression: match },
    );
    if (!ctx.errors) throw err;
    ctx.errors.push(err);
    return match;
  });
}
