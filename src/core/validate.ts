/**
 * Checks on what a caller hands the switchboard, made where the call starts so that a bad value is the
 * caller's E_INVALID_ARGUMENT, the same inline and in a thread, before anything is queued or sent.
 */
import { SwitchboardError } from './errors.js';

/** E_INVALID_ARGUMENT unless `timeoutMs` is absent or a whole number of milliseconds, 0 or more. */
export function checkTimeout(timeoutMs: unknown, what: string): SwitchboardError | undefined {
  if (timeoutMs === undefined || (Number.isSafeInteger(timeoutMs) && (timeoutMs as number) >= 0)) return;
  return new SwitchboardError(
    'E_INVALID_ARGUMENT',
    `${what}: timeoutMs must be a whole number of milliseconds, 0 or more (0: no deadline), not ${describe(timeoutMs)}`,
    { data: { timeoutMs: typeof timeoutMs === 'number' ? timeoutMs : String(timeoutMs) } },
  );
}

/**
 * Why `value` cannot travel as JSON, with the path of the first value that cannot (`params.arguments.n:
 * a bigint ...`), or undefined if it can. What JSON itself leaves out or converts the same way on every
 * path is allowed: `undefined` fields, and objects with a `toJSON` (a Date becomes its ISO string).
 * Refused: bigints, functions, symbols, NaN and the infinities (JSON would turn them into null, or drop
 * them, or throw), and circular references.
 */
export function jsonProblem(value: unknown, path: string): string | undefined {
  return walk(value, path, []);
}

function walk(value: unknown, path: string, ancestors: object[]): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path}: ${value} cannot be sent as JSON`;
    case 'bigint':
      return `${path}: a bigint cannot be sent as JSON; send it as a string or a number`;
    case 'function':
      return `${path}: a function cannot be sent as JSON`;
    case 'symbol':
      return `${path}: a symbol cannot be sent as JSON`;
  }
  if (value === null || typeof (value as { toJSON?: unknown }).toJSON === 'function') return;
  const obj = value as object;
  if (ancestors.includes(obj)) return `${path}: a circular reference cannot be sent as JSON`;
  ancestors.push(obj);
  let problem: string | undefined;
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length && !problem; i++) problem = walk(obj[i], `${path}[${i}]`, ancestors);
  } else {
    for (const key in obj) {
      if (!Object.hasOwn(obj, key)) continue;
      problem = walk((obj as Record<string, unknown>)[key], `${path}.${key}`, ancestors);
      if (problem) break;
    }
  }
  ancestors.pop();
  return problem;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}
