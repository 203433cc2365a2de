import type { ServerConfig } from '../config/config.js';
import type { ProgressParams } from '../core/correlator.js';
import type { WireError } from '../core/errors.js';
import type { Params, RpcNotification } from '../core/jsonrpc.js';
import type { ConnectionStats, ServerDescription } from './connection.js';

/** What the worker is given when it starts. */
export interface WorkerInit {
  config: ServerConfig;
  capabilities: Record<string, unknown> | undefined;
}

/*
 * Both ways, messages cross in batches: each postMessage carries an array of messages, in order (see
 * PortWriter).
 */

/** Main thread -> worker, over the worker's own MessagePort. */
export type ToWorker =
  | {
      t: 'req';
      id: number;
      method: string;
      /**
       * The params as JSON text, taken when the call is made: a batch crosses at the end of the turn, and
       * what the caller changes in its params after the call returns must not go with it (inline, the
       * line is written, or built, at call time too).
       */
      params: string | undefined;
      progress: boolean;
      /** The call may answer requests the server makes while handling it (it has a context). */
      asks: boolean;
      capabilities: Record<string, unknown> | undefined;
    }
  /** The answer to a server request the worker passed on (`ask`). */
  | { t: 'answer'; id: number; result?: Record<string, unknown>; error?: WireError }
  | { t: 'cancel'; id: number; reason: WireError }
  | { t: 'notify'; method: string; params: Params | undefined }
  | { t: 'close'; now: boolean };

/** Worker -> main thread. */
export type FromWorker =
  | { t: 'ready'; description: ServerDescription }
  | { t: 'failed'; error: WireError }
  | { t: 'res'; id: number; result: unknown }
  | { t: 'err'; id: number; error: WireError }
  | { t: 'progress'; id: number; params: ProgressParams }
  | { t: 'note'; message: RpcNotification }
  | { t: 'warn'; error: WireError }
  | { t: 'stderr'; line: string }
  | { t: 'spawned'; pid: number }
  /**
   * A server request for the main side to answer. `related` and `inflight` are main-side call ids (the
   * call on whose stream it came, the calls in flight that may have caused it).
   */
  | {
      t: 'ask';
      id: number;
      request: { method: string; params: Record<string, unknown> };
      related: number | undefined;
      inflight: number[];
    }
  /** The server cancelled a request passed on with `ask`. */
  | { t: 'unask'; id: number; reason: WireError }
  | { t: 'closed'; error: WireError; stats: ConnectionStats; stderr: string[] };

/** Requests the main side makes of the worker itself, answered like upstream calls. */
export const WORKER_STATS = '$switchboard/stats';
export const WORKER_STDERR = '$switchboard/stderr';

/** A message as JSON carries it: what goes instead of one a structured clone refuses. Throws what JSON.stringify throws. */
export function jsonCopy<M>(message: M): M {
  return JSON.parse(JSON.stringify(message)) as M;
}
