/**
 * Checks on what a caller hands the switchboard, made where the call starts so that a bad value is the
 * caller's E_INVALID_ARGUMENT, the same inline and in a thread, before anything is queued or sent.
 */
import { types } from 'node:util';
import { SwitchboardError } from './errors.js';

/** The largest delay a Node timer holds; longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** E_INVALID_ARGUMENT unless `timeoutMs` is absent or a whole number of milliseconds, 0 or more. */
export function checkTimeout(timeoutMs: unknown, what: string): SwitchboardError | undefined {
  if (timeoutMs === undefined || (Number.isSafeInteger(timeoutMs) && (timeoutMs as number) >= 0)) return;
  return new SwitchboardError(
    'E_INVALID_ARGUMENT',
    `${what}: timeoutMs must be a whole number of milliseconds, 0 or more (0: no deadline), not ${describe(timeoutMs)}`,
    { data: { timeoutMs: typeof timeoutMs === 'number' ? timeoutMs : String(timeoutMs) } },
  );
}

/** How deep a value may nest: deeper is refused (JSON.stringify itself would overflow the stack). */
export const MAX_DEPTH = 1000;

/**
 * `value` as JSON will carry it, or why it cannot be carried, with the path of the first value that
 * cannot (`params.arguments.n: a bigint ...`).
 *
 * JSON's own conversions are applied here, once, so that a value reaches the server the same way inline
 * and in a worker thread (where it would otherwise be structured-cloned, which keeps what JSON converts
 * and refuses what JSON drops): `toJSON()` is called (a Date becomes its ISO string, a URL its href), a
 * class instance, Map or Set becomes its own enumerable properties, `undefined` fields are left out.
 * Plain objects and arrays, the usual case, are checked and passed on as they are.
 *
 * Refused: bigints, functions, symbols, NaN and the infinities (JSON would turn them into null, or drop
 * them, or throw), circular references, nesting deeper than {@link MAX_DEPTH}, and properties whose
 * reading throws (a getter, a proxy).
 */
export function toJson(value: unknown, path: string): { value: unknown } | { problem: string } {
  const state: WalkState = { convert: false, ancestors: [], keys: [] };
  let problem: string | undefined;
  try {
    problem = walk(value, '', 0, state);
  } catch (err) {
    problem = `reading it failed: ${(err as Error)?.message ?? String(err)}`;
  }
  if (problem) return { problem: `${pathOf(path, state.keys)}: ${problem}` };
  if (!state.convert) return { value };
  try {
    return { value: JSON.parse(JSON.stringify(value)) as unknown };
  } catch (err) {
    return { problem: `${path}: it cannot be sent as JSON: ${(err as Error)?.message ?? String(err)}` };
  }
}

interface WalkState {
  /**
   * Something JSON converts was met (a toJSON, a class instance, a proxy, an array with extra
   * properties): the result is the JSON round trip, not the value itself, which a worker thread would
   * otherwise structured-clone differently.
   */
  convert: boolean;
  ancestors: object[];
  /** Where the walk is: the path of the value it refuses, built only then. */
  keys: (string | number)[];
}

function pathOf(root: string, keys: (string | number)[]): string {
  let path = root;
  for (const key of keys) path += typeof key === 'number' ? `[${key}]` : `.${key}`;
  return path;
}

/** Checks one value; on a problem, `state.keys` is left at its path. */
function walk(raw: unknown, key: string, depth: number, state: WalkState): string | undefined {
  let value = raw;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    state.convert = true;
    try {
      value = (value as { toJSON(key: string): unknown }).toJSON(key);
    } catch (err) {
      return `its toJSON() failed: ${(err as Error)?.message ?? String(err)}`;
    }
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return;
    case 'number':
      return Number.isFinite(value) ? undefined : `${value} cannot be sent as JSON`;
    case 'bigint':
      return 'a bigint cannot be sent as JSON; send it as a string or a number';
    case 'function':
      return 'a function cannot be sent as JSON';
    case 'symbol':
      return 'a symbol cannot be sent as JSON';
  }
  if (value === null) return;
  const obj = value as object;
  if (ArrayBuffer.isView(obj)) {
    state.convert = true; // numbers only: nothing to refuse, and nothing worth walking one by one
    return;
  }
  if (depth >= MAX_DEPTH) return `nested more than ${MAX_DEPTH} levels deep`;
  if (state.ancestors.includes(obj)) return 'a circular reference cannot be sent as JSON';
  if (types.isProxy(obj)) state.convert = true;
  state.ancestors.push(obj);
  let problem: string | undefined;
  if (Array.isArray(obj)) {
    // Properties beside the elements are left out by JSON, and cloned (or refused) by a thread.
    if (Object.keys(obj).length !== obj.length) state.convert = true;
    for (let i = 0; i < obj.length; i++) {
      state.keys.push(i);
      problem = walk(obj[i], String(i), depth + 1, state);
      if (problem) return problem;
      state.keys.pop();
    }
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) state.convert = true; // a Map, a Set, a class instance
    for (const k of Object.keys(obj)) {
      state.keys.push(k);
      const child = (obj as Record<string, unknown>)[k]; // a getter that throws is caught in toJson
      problem = walk(child, k, depth + 1, state);
      if (problem) return problem;
      state.keys.pop();
    }
  }
  state.ancestors.pop();
  return problem;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}
