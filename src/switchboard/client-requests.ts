import type { ServerConfig } from '../config/config.js';
import { RpcError, SwitchboardError } from '../core/errors.js';
import { METHOD_NOT_FOUND } from '../core/jsonrpc.js';
import {
  type Capability,
  type ClientHandlers,
  capabilitiesOf,
  capabilityOf,
  handlerFor,
  pickHandler,
  type RequestLink,
  type Root,
  type RootsOption,
  runHandler,
} from '../core/server-requests.js';

/**
 * A call as the server requests it causes see it: its own handlers, and a signal that fires when the
 * call ends (made only if a handler asks for it). Every call a caller makes has one, handlers or not, so
 * that the routing rule can count the calls in flight.
 */
export class CallAsks {
  readonly handlers: ClientHandlers | undefined;
  #ended: AbortController | undefined;

  constructor(handlers: ClientHandlers | undefined) {
    this.handlers = handlers;
  }

  /** Fires when the call ends. */
  get ended(): AbortSignal {
    this.#ended ??= new AbortController();
    return this.#ended.signal;
  }

  /** The call has ended: whoever still answers a request it caused is told. */
  end(): void {
    this.#ended?.abort(new SwitchboardError('E_ABORTED', 'the call that caused this request has ended'));
  }
}

/** The handlers of a call's options, or undefined when it has none (the usual case: nothing to carry). */
export function handlersOf(opts: ClientHandlers): ClientHandlers | undefined {
  if (!opts.onElicitation && !opts.onSampling && !opts.roots && !opts.onElicitationComplete) return undefined;
  return {
    onElicitation: opts.onElicitation,
    onSampling: opts.onSampling,
    roots: opts.roots,
    onElicitationComplete: opts.onElicitationComplete,
  };
}

/** URL-mode elicitations waiting for their completion notice, at most this many (the oldest go first). */
const PENDING_URL_ELICITATIONS = 1024;

export interface ClientRequestsContext {
  warning(server: string, error: Error): void;
}

/**
 * The client side of MCP: the switchboard's default handlers, the capabilities they (and the config's
 * `advertise`) declare, and the answers to what servers ask, by the routing rule of `pickHandler`.
 */
export class ClientRequests {
  #defaults: ClientHandlers;
  readonly #ctx: ClientRequestsContext;
  /** URL-mode elicitations answered, by server and elicitation id: whom their completion notice is for. */
  readonly #urls = new Map<string, (params: Record<string, unknown>) => void>();

  constructor(defaults: ClientHandlers, ctx: ClientRequestsContext) {
    this.#defaults = { ...defaults };
    this.#ctx = ctx;
  }

  get roots(): RootsOption | undefined {
    return this.#defaults.roots;
  }

  setRoots(roots: RootsOption | undefined): void {
    this.#defaults = { ...this.#defaults, roots };
  }

  /** What a new connection to this server declares. */
  capabilities(config: ServerConfig): Record<string, unknown> {
    return capabilitiesOf(this.#defaults, config.advertise);
  }

  /** What one request declares on a 2026-07-28 connection, when the call has handlers of its own. */
  callCapabilities(
    config: ServerConfig,
    handlers: ClientHandlers | undefined,
  ): Record<string, unknown> | undefined {
    return handlers ? capabilitiesOf(this.#defaults, config.advertise, handlers) : undefined;
  }

  /**
   * A request a server made (stdio, SSE, Streamable HTTP of the 2025 era): who answers is decided by the
   * link to the call that caused it; nobody is guessed. Rejects with the JSON-RPC error the server gets.
   */
  async answer(
    server: string,
    request: { method: string; params: Record<string, unknown> },
    link: RequestLink<unknown>,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const capability = capabilityOf(request.method)!;
    const pick = pickHandler(capability, link, (ctx) => (ctx as CallAsks).handlers, this.#defaults);
    if ('none' in pick) {
      throw new RpcError(server, METHOD_NOT_FOUND, noHandler(capability, request.method));
    }
    if ('ambiguous' in pick) {
      const message = `'${server}' sent ${request.method} while ${pick.calls} calls with different ${handlerName(capability)} handlers were in flight, and its transport does not say which call it belongs to; it was refused rather than guessed. Give the switchboard a default ${handlerName(capability)}, or set maxInFlight: 1 for this server so each request has one call to belong to`;
      this.#ctx.warning(
        server,
        new SwitchboardError('E_CLIENT_REQUEST', message, { data: { server, method: request.method } }),
      );
      throw new RpcError(server, -32603, message);
    }
    // The call it belongs to, when that is known: its end ends the handler's wait too.
    const owner = (link.related ?? (link.inflight.length === 1 ? link.inflight[0] : undefined)) as
      | CallAsks
      | undefined;
    const ctxSignal = owner ? AbortSignal.any([signal, owner.ended]) : signal;
    this.#expectCompletion(server, request.params, pick.from === 'call' ? owner?.handlers : this.#defaults);
    return runHandler(capability, pick.handler, request.params, {
      server,
      method: request.method,
      signal: ctxSignal,
    });
  }

  /** A URL-mode elicitation is being answered: its completion notice will be for whoever answered it. */
  #expectCompletion(
    server: string,
    params: Record<string, unknown>,
    handlers: ClientHandlers | undefined,
  ): void {
    const id = params.elicitationId;
    const listener = handlers?.onElicitationComplete;
    if (params.mode !== 'url' || typeof id !== 'string' || !listener) return;
    this.#urls.set(`${server}\u0000${id}`, listener);
    if (this.#urls.size > PENDING_URL_ELICITATIONS) this.#urls.delete(this.#urls.keys().next().value!);
  }

  /**
   * `notifications/elicitation/complete` from a server: to the handlers that answered that elicitation.
   * False if no one is waiting for it (it is still a `notification` event, as every notification is).
   */
  completed(server: string, params: unknown): boolean {
    const id = (params as { elicitationId?: unknown } | undefined)?.elicitationId;
    if (typeof id !== 'string') return false;
    const key = `${server}\u0000${id}`;
    const listener = this.#urls.get(key);
    if (!listener) return false;
    this.#urls.delete(key);
    try {
      listener(params as Record<string, unknown>);
    } catch {
      // A listener's own bug does not reach the server.
    }
    return true;
  }

  /**
   * The answers to a 2026-07-28 `input_required` result, with the call's own handlers (else the
   * defaults): one per key of `inputRequests`. There is no way to send an error in their place, so a
   * request nobody can answer, or a handler that fails, fails the call (E_CLIENT_REQUEST).
   */
  async inputs(
    server: string,
    inputRequests: Record<string, unknown>,
    handlers: ClientHandlers | undefined,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const entries = Object.entries(inputRequests);
    const answers = await Promise.all(
      entries.map(async ([key, raw]) => {
        const request = raw as { method?: unknown; params?: unknown } | undefined;
        const method = typeof request?.method === 'string' ? request.method : '';
        const capability = capabilityOf(method);
        if (!capability) {
          throw new SwitchboardError(
            'E_CLIENT_REQUEST',
            `'${server}' asked for input '${key}' with ${method ? `'${method}'` : 'no method'}, which a client does not answer`,
            { data: { server, key, method } },
          );
        }
        const own = handlerFor(handlers, capability);
        const handler = own ?? handlerFor(this.#defaults, capability);
        if (!handler) {
          throw new SwitchboardError(
            'E_CLIENT_REQUEST',
            `'${server}' asked for input '${key}': ${noHandler(capability, method)}`,
            {
              data: { server, key, method },
            },
          );
        }
        const params = (request?.params ?? {}) as Record<string, unknown>;
        this.#expectCompletion(server, params, own ? handlers : this.#defaults);
        try {
          return [key, await runHandler(capability, handler, params, { server, method, signal })] as const;
        } catch (err) {
          throw new SwitchboardError(
            'E_CLIENT_REQUEST',
            `the ${handlerName(capability)} handler failed on input '${key}' that '${server}' asked for: ${(err as Error)?.message ?? err}`,
            { cause: err, data: { server, key, method } },
          );
        }
      }),
    );
    return Object.fromEntries(answers);
  }
}

function handlerName(capability: Capability): string {
  return capability === 'elicitation' ? 'onElicitation' : capability === 'sampling' ? 'onSampling' : 'roots';
}

function noHandler(capability: Capability, method: string): string {
  return `mcp-switchboard has no ${capability} handler for ${method}: neither the call that caused it nor the switchboard gives one (pass ${handlerName(capability)} in the call's options, or in Switchboard.start's for all calls)`;
}

export type { Root, RootsOption };
