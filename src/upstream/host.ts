import type { Isolation, ServerConfig } from '../config/config.js';
import type { RequestOptions } from '../core/correlator.js';
import type { SwitchboardError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { ConnectionEvents, ConnectionStats, ServerDescription } from './connection.js';

export type HostEvents = ConnectionEvents;
export type { RequestOptions } from '../core/correlator.js';

export interface CloseOptions {
  /** End the server now: a stdio server is not given time to exit on its own before SIGTERM. */
  now?: boolean | undefined;
}

/**
 * Where an upstream connection lives. `inline`: on the caller's event loop. `thread`: in a worker thread
 * of its own, reached over that worker's MessagePort. Both pass the same contract suite.
 */
export interface UpstreamHost {
  readonly server: string;
  readonly isolation: Isolation;
  /** Starts the server and performs the handshake. An aborted signal ends the start at once. */
  start(opts?: { signal?: AbortSignal | undefined }): Promise<ServerDescription>;
  /** One request; resolves with its `result` as the server sent it, rejects with a typed error. */
  request(method: string, params: Params | undefined, opts?: RequestOptions): Promise<unknown>;
  notify(method: string, params?: Params): Promise<void>;
  stats(): Promise<ConnectionStats>;
  /** The last lines a stdio server wrote to stderr. */
  stderrTail(): Promise<string[]>;
  /**
   * Fails whatever is pending with `reason` (default: E_CLOSED) and ends the connection and its process
   * tree; resolves when the tree is gone. Idempotent; a later call with `now` cuts a graceful close short.
   */
  close(reason?: SwitchboardError, opts?: CloseOptions): Promise<void>;
}

export interface HostOptions {
  /** Client capabilities to declare (see `UpstreamConnection.open`). */
  capabilities?: Record<string, unknown> | undefined;
}

export type HostFactory = (config: ServerConfig, events: HostEvents, options?: HostOptions) => UpstreamHost;
