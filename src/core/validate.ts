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
 * JSON's own conversions are applied here, once, as JSON.stringify would apply them, so that a value
 * reaches the server the same way inline and in a worker thread (where it would otherwise be
 * structured-cloned, which keeps what JSON converts and refuses what JSON drops): `toJSON()` is called (a
 * Date becomes its ISO string, a URL its href, a Buffer `{ type, data }`), a class instance, Map, Set,
 * proxy or typed array becomes a plain copy. Each value is read once: a getter or a `toJSON` is not
 * called again when the value is sent. Plain objects and arrays, the usual case, are passed on as they
 * are, not copied.
 *
 * Refused: bigints, functions, symbols, NaN and the infinities (JSON would turn them into null, or drop
 * them, or throw), circular references, nesting deeper than {@link MAX_DEPTH}, and properties whose
 * reading throws (a getter, a proxy).
 */
export function toJson(value: unknown, path: string): { value: unknown } | { problem: string } {
  const state: WalkState = { ancestors: [], keys: [] };
  try {
    return { value: walk(value, '', 0, state) };
  } catch (err) {
    const why =
      err instanceof Refusal ? err.message : `reading it failed: ${(err as Error)?.message ?? String(err)}`;
    return { problem: `${pathOf(path, state.keys)}: ${why}` };
  }
}

/** Why a value cannot travel as JSON; thrown by the walk, with the walk's `keys` left at its path. */
class Refusal extends Error {}

interface WalkState {
  ancestors: object[];
  /** Where the walk is: the path of the value it refuses, built only then. */
  keys: (string | number)[];
}

function pathOf(root: string, keys: (string | number)[]): string {
  let path = root;
  for (const key of keys) path += typeof key === 'number' ? `[${key}]` : `.${key}`;
  return path;
}

/** The value as JSON carries it: the same object when nothing in it changes, else a plain copy. */
function walk(raw: unknown, key: string, depth: number, state: WalkState): unknown {
  let value = raw;
  if (value !== null && typeof value === 'object') {
    if (ArrayBuffer.isView(value)) return typedArray(value, state);
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      try {
        value = (value as { toJSON(key: string): unknown }).toJSON(key);
      } catch (err) {
        throw new Refusal(`its toJSON() failed: ${(err as Error)?.message ?? String(err)}`);
      }
      if (value !== null && typeof value === 'object' && value !== raw) return walk(value, key, depth, state);
    }
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new Refusal(`${value} cannot be sent as JSON`);
    case 'bigint':
      throw new Refusal('a bigint cannot be sent as JSON; send it as a string or a number');
    case 'function':
      throw new Refusal('a function cannot be sent as JSON');
    case 'symbol':
      throw new Refusal('a symbol cannot be sent as JSON');
  }
  if (value === null) return value;
  const obj = value as object;
  if (depth >= MAX_DEPTH) throw new Refusal(`nested more than ${MAX_DEPTH} levels deep`);
  if (state.ancestors.includes(obj)) throw new Refusal('a circular reference cannot be sent as JSON');
  state.ancestors.push(obj);
  // A proxy, or anything but a plain object or array, is copied: a thread would clone it differently.
  let copy = types.isProxy(obj);
  let out: unknown;
  if (Array.isArray(obj)) {
    const items: unknown[] = [];
    for (let i = 0; i < obj.length; i++) {
      state.keys.push(i);
      const item = obj[i];
      const next = walk(item, String(i), depth + 1, state);
      if (next !== item) copy = true;
      items.push(next);
      state.keys.pop();
    }
    // Extra properties of an array are left out by JSON, and by the copy.
    out = copy ? items : obj;
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) copy = true; // a Map, a Set, a class instance
    const fields: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) {
      state.keys.push(k);
      const field = (obj as Record<string, unknown>)[k]; // a getter that throws is caught in toJson
      const next = walk(field, k, depth + 1, state);
      if (next !== field) copy = true;
      if (next !== undefined) fields[k] = next;
      state.keys.pop();
    }
    out = copy ? fields : obj;
  }
  state.ancestors.pop();
  return out;
}

/** A typed array (or Buffer, DataView) as JSON carries it, without walking it element by element. */
function typedArray(view: ArrayBufferView, state: WalkState): unknown {
  if (Buffer.isBuffer(view)) return { type: 'Buffer', data: Array.from(view) };
  if (view instanceof DataView) return {};
  if (view instanceof BigInt64Array || view instanceof BigUint64Array) {
    throw new Refusal('a bigint array cannot be sent as JSON; send its numbers as strings');
  }
  const numbers = view as unknown as ArrayLike<number>;
  const out: Record<string, number> = {};
  for (let i = 0; i < numbers.length; i++) {
    const n = numbers[i]!;
    if (!Number.isFinite(n)) {
      state.keys.push(i);
      throw new Refusal(`${n} cannot be sent as JSON`);
    }
    out[i] = n;
  }
  return out;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}
