import type { CallOptions, CallSite, ProgressListener } from '../core/correlator.js';
import { SwitchboardError } from '../core/errors.js';
import { checkTimeout, toJson } from '../core/validate.js';
import { CallAsks, handlersOf } from './client-requests.js';

/**
 * One call as the switchboard carries it, from the public method to the wire: what the caller asked
 * for, where it started, and its one deadline. Every step (queue wait, send, retry, each page of a
 * listing) reads the time it has left from `deadline`; none makes a deadline of its own.
 */
export interface Call {
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ProgressListener | undefined;
  readonly retry: boolean | undefined;
  readonly site: CallSite;
  /** When the call times out (`performance.now()` ms); Infinity for never. */
  readonly deadline: number;
  /** The timeout the caller gave (or the server's default), in ms, 0 for none: what errors report. */
  readonly timeoutMs: number;
  /**
   * A caller's call, which a server may answer with requests of its own (sampling, elicitation, roots):
   * its handlers, and its end. Undefined for the switchboard's own calls (catalog pages, pings).
   */
  readonly asks: CallAsks | undefined;
  readonly inputRequired: 'answer' | 'return';
  readonly inputRounds: number;
  /**
   * The client capabilities this call declares to a 2026-07-28 server, in place of what its handlers
   * and the config imply (a gateway passes on its own client's, so the server asks only what that
   * client can answer).
   */
  readonly capabilities: Record<string, unknown> | undefined;
}

/** How many `input_required` rounds a call goes through by default. */
export const DEFAULT_INPUT_ROUNDS = 10;

/**
 * The call for `opts`, with `defaultTimeoutMs` (the server's `timeoutMs`) where the caller gave none.
 * `startedAt` lets the calls of one listing across several servers share their origin.
 */
export function newCall(
  opts: CallOptions,
  site: CallSite,
  defaultTimeoutMs: number,
  startedAt = performance.now(),
  caller = false,
): Call {
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  return {
    signal: opts.signal,
    onProgress: opts.onProgress,
    retry: opts.retry,
    site,
    deadline: timeoutMs > 0 ? startedAt + timeoutMs : Infinity,
    timeoutMs,
    asks: caller ? new CallAsks(handlersOf(opts)) : undefined,
    inputRequired: opts.inputRequired ?? 'answer',
    inputRounds: opts.inputRounds ?? DEFAULT_INPUT_ROUNDS,
    capabilities: opts.capabilities,
  };
}

/** E_INVALID_ARGUMENT for options no call can run with; checked where the call starts. */
export function checkOptions(opts: CallOptions, what: string): SwitchboardError | undefined {
  if (opts === null || typeof opts !== 'object') {
    return invalid(`${what}: options must be an object, not ${opts === null ? 'null' : typeof opts}`);
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal))
    return invalid(
      `${what}: signal must be an AbortSignal (from an AbortController), not ${typeof opts.signal}`,
    );
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function')
    return invalid(`${what}: onProgress must be a function, not ${typeof opts.onProgress}`);
  if (opts.retry !== undefined && typeof opts.retry !== 'boolean')
    return invalid(`${what}: retry must be true or false, not ${typeof opts.retry}`);
  for (const key of ['onElicitation', 'onSampling', 'onElicitationComplete'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function')
      return invalid(`${what}: ${key} must be a function, not ${typeof opts[key]}`);
  }
  if (opts.roots !== undefined && typeof opts.roots !== 'function' && !Array.isArray(opts.roots))
    return invalid(`${what}: roots must be a list of { uri, name } or a function that returns one`);
  if (opts.inputRequired !== undefined && opts.inputRequired !== 'answer' && opts.inputRequired !== 'return')
    return invalid(`${what}: inputRequired must be 'answer' or 'return', not ${String(opts.inputRequired)}`);
  if (opts.inputRounds !== undefined && !(Number.isSafeInteger(opts.inputRounds) && opts.inputRounds >= 1))
    return invalid(`${what}: inputRounds must be a whole number, 1 or more`);
  if (opts.task !== undefined && typeof opts.task !== 'boolean')
    return invalid(`${what}: task must be true or false, not ${typeof opts.task}`);
  if (opts.onTaskStatus !== undefined && typeof opts.onTaskStatus !== 'function')
    return invalid(`${what}: onTaskStatus must be a function, not ${typeof opts.onTaskStatus}`);
  return checkTimeout(opts.timeoutMs, what);
}

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('E_INVALID_ARGUMENT', message);
}

/**
 * `params` as JSON carries them (see `toJson`), or E_INVALID_ARGUMENT naming the path of what JSON
 * cannot carry.
 */
export function jsonParams<T>(
  params: T,
  path: string,
  what: string,
): { params: T } | { error: SwitchboardError } {
  const json = toJson(params, path);
  if ('value' in json) return { params: json.value as T };
  return {
    error: new SwitchboardError('E_INVALID_ARGUMENT', `${what}: ${json.problem}`, {
      data: { path: json.problem.slice(0, json.problem.indexOf(':')) },
    }),
  };
}
