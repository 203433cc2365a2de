import type { Isolation, ServerConfig } from '../config/config.js';
import type { CallOptions, CallSite } from '../core/correlator.js';
import type { SwitchboardError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { ConnectionEvents, ConnectionStats, ServerDescription } from './connection.js';

export type HostEvents = ConnectionEvents;

export interface RequestOptions extends CallOptions {
  /** Where the caller's call started, for error stacks. */
  site?: CallSite | undefined;
}

/**
 * Where an upstream connection lives. `inline`: on the caller's event loop. `thread`: in a worker thread
 * of its own, reached over that worker's MessagePort. Both pass the same contract suite.
 */
export interface UpstreamHost {
  readonly server: string;
  readonly isolation: Isolation;
  /** Starts the server and performs the handshake. */
  start(opts?: { signal?: AbortSignal | undefined }): Promise<ServerDescription>;
  /** One request; resolves with its `result` as the server sent it, rejects with a typed error. */
  request(method: string, params: Params | undefined, opts?: RequestOptions): Promise<unknown>;
  notify(method: string, params?: Params): Promise<void>;
  stats(): Promise<ConnectionStats>;
  /** The last lines a stdio server wrote to stderr. */
  stderrTail(): Promise<string[]>;
  /**
   * Fails whatever is pending with `reason` (default: E_CLOSED) and ends the connection and its process
   * tree. Idempotent.
   */
  close(reason?: SwitchboardError): Promise<void>;
}

export type HostFactory = (config: ServerConfig, events: HostEvents) => UpstreamHost;
