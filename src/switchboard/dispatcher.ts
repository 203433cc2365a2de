import { stampCallSite } from '../core/correlator.js';
import { isSwitchboardError, SwitchboardError, timeoutError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { Call } from './call.js';
import type { ClientRequests } from './client-requests.js';
import type { Route } from './fleet.js';

/** Methods that only read: a call to one of them may be sent again after a restart (`retry: annotated`). */
const READ_ONLY_METHODS = new Set([
  'ping',
  'tools/list',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
]);

/** The methods whose result may be `input_required` (2026-07-28, multi round-trip requests). */
const MULTI_ROUND_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);

export interface DispatcherContext {
  /** Answers of the client side: the inputs a 2026-07-28 server asks for, and what a call declares. */
  client: ClientRequests;
  /** Why no call is taken any more (the switchboard is closing), or undefined. */
  closed(): SwitchboardError | undefined;
  /** Whether the route is still the one configured under its name (not removed by a reload). */
  current(route: Route): boolean;
  /** Whether the server says this tool can be repeated (annotated read-only or idempotent). */
  repeatable(route: Route, tool: string): boolean;
}

/**
 * The call path: a server's mailbox (its fast path when a slot is free), the one deadline, the send, and
 * what happens when the server goes down under a call: a call that was never sent waits for the next
 * connection; one that was sent is sent again only under the retry rule.
 */
export class Dispatcher {
  #ctx: DispatcherContext;

  constructor(ctx: DispatcherContext) {
    this.#ctx = ctx;
  }

  /**
   * A call, to its final result: sent (and sent again, under the retry rule), and, for a 2026-07-28
   * server that answers `input_required`, answered and sent again round after round, all under the
   * call's one deadline. When it ends, requests it caused that are still being answered are told.
   */
  dispatch(route: Route, method: string, params: Params | undefined, call: Call): Promise<unknown> {
    // The request's own reaction ends the call (one more .then(), or a .finally(), per call would cost
    // two to four promises more on the hot path).
    return this.#dispatch(route, method, params, call, false, call.asks !== undefined);
  }

  /** The answer to the last request of a call: more rounds if the server asks for input, or its end. */
  #answered(route: Route, method: string, params: Params | undefined, call: Call, result: unknown) {
    const asks = call.asks!;
    if (MULTI_ROUND_METHODS.has(method) && call.inputRequired === 'answer' && isInputRequired(result))
      return this.#rounds(route, method, params, call, result).finally(() => asks.end());
    asks.end();
    return result;
  }

  /** A refusal of the request; when it was the call's last, the call has ended. */
  #refused(err: Error, call: Call, last: boolean): Promise<never> {
    if (last) call.asks!.end();
    return Promise.reject(err);
  }

  /**
   * One request of a call that makes several (a task: create, then wait for the result): sent, and
   * answered round after round like any call, but the call is not over when it returns.
   */
  step(route: Route, method: string, params: Params | undefined, call: Call): Promise<unknown> {
    const sent = this.#dispatch(route, method, params, call, false, false);
    const rounds = call.asks && MULTI_ROUND_METHODS.has(method) && call.inputRequired === 'answer';
    return rounds ? sent.then((r) => this.#rounds(route, method, params, call, r)) : sent;
  }

  /**
   * `input_required` (spec 2026-07-28, multi round-trip requests): the server wants answers first. Each
   * is given by the call's handlers (or the defaults), and the call is sent again with them and the
   * server's `requestState` exactly as it came, as a new request, until the result is final or the call
   * has used its rounds or its deadline.
   */
  async #rounds(
    route: Route,
    method: string,
    params: Params | undefined,
    call: Call,
    first: unknown,
  ): Promise<unknown> {
    let result = first;
    for (let round = 1; isInputRequired(result); round++) {
      const server = route.sup.name;
      if (round > call.inputRounds) {
        throw stampCallSite(
          new SwitchboardError(
            'E_PROTOCOL',
            `${method} on '${server}' still asked for input after ${call.inputRounds} rounds; stopped (raise inputRounds for this call if the server needs more)`,
            { data: { server, method, rounds: call.inputRounds } },
          ),
          call.site,
        );
      }
      const { inputRequests, requestState } = result as { inputRequests?: unknown; requestState?: unknown };
      const responses = await this.#ctx.client.inputs(
        server,
        (inputRequests ?? {}) as Record<string, unknown>,
        call.asks?.handlers,
        inputSignal(call),
      );
      const next: Params = { ...params, inputResponses: responses };
      if (requestState !== undefined) next.requestState = requestState;
      result = await this.#dispatch(route, method, next, call, false, false);
    }
    return result;
  }

  #dispatch(
    route: Route,
    method: string,
    params: Params | undefined,
    call: Call,
    retried: boolean,
    /** Its answer ends the call (see #answered); else the caller of #dispatch ends it. */
    last: boolean,
  ): Promise<unknown> {
    const sup = route.sup;
    // Also refused during close()'s grace period: closing means no new calls. A server that is starting
    // or restarting takes calls into its (paused) mailbox; one that is down for longer refuses them now.
    const closed = this.#ctx.closed();
    if (closed || !sup.waitable)
      return this.#refused(stampCallSite(closed ?? sup.unavailable(), call.site), call, last);
    let entered: boolean;
    try {
      entered = sup.mailbox.tryEnter();
    } catch (err) {
      return this.#refused(stampCallSite(err as Error, call.site), call, last);
    }
    if (entered) return this.#send(route, method, params, call, retried, last);
    return sup.mailbox
      .enter({
        signal: call.signal,
        deadline: call.deadline < Infinity ? call.deadline : undefined,
        timeoutMs: call.timeoutMs,
      })
      .then(
        () => this.#send(route, method, params, call, retried, last),
        (err: Error) => this.#refused(stampCallSite(err, call.site), call, last),
      );
  }

  #send(
    route: Route,
    method: string,
    params: Params | undefined,
    call: Call,
    retried: boolean,
    last: boolean,
  ): Promise<unknown> {
    const mailbox = route.sup.mailbox;
    if (call.deadline - performance.now() < 1) {
      // The slot came as the deadline ran out: not sent, so the server does no work for nobody.
      mailbox.leave();
      return this.#refused(
        stampCallSite(
          timeoutError(`${method} on '${route.sup.name}' (still queued)`, call.timeoutMs, {
            server: route.sup.name,
            method,
            stage: 'queued',
          }),
          call.site,
        ),
        call,
        last,
      );
    }
    const host = route.sup.host;
    if (!host) {
      // The connection went down between this call getting its slot and now: it was never sent, so it
      // goes back in line for the next connection (or fails, if none is coming).
      mailbox.leave();
      return this.#dispatch(route, method, params, call, retried, last);
    }
    let sent: Promise<unknown>;
    try {
      sent = host.request(method, params, {
        signal: call.signal,
        timeoutMs: call.timeoutMs,
        deadline: call.deadline,
        onProgress: call.onProgress,
        site: call.site,
        context: call.asks,
        capabilities:
          call.capabilities ?? this.#ctx.client.callCapabilities(route.sup.config, call.asks?.handlers),
      });
    } catch (err) {
      mailbox.leave();
      return this.#refused(err as Error, call, last);
    }
    return sent.then(
      (result) => {
        mailbox.leave();
        return last ? this.#answered(route, method, params, call, result) : result;
      },
      (err: unknown) => {
        mailbox.leave();
        if (!retried && this.#mayRetry(route, method, params, call, err))
          return this.#dispatch(route, method, params, call, true, last);
        if (last) call.asks!.end();
        throw err;
      },
    );
  }

  /**
   * A call that was sent is sent again only if its server went down under it, a new connection is on
   * its way, time is left, and the retry rule allows it (see RetryPolicy). Never more than once, and
   * within the call's original deadline.
   */
  #mayRetry(route: Route, method: string, params: Params | undefined, call: Call, err: unknown): boolean {
    if (!isSwitchboardError(err, 'E_UPSTREAM_CLOSED') || this.#ctx.closed() || !route.sup.waitable)
      return false;
    if (!this.#ctx.current(route)) return false; // removed from the config meanwhile
    if (call.signal?.aborted || call.deadline - performance.now() < 1) return false;
    const rule = call.retry ?? route.sup.config.retry;
    if (rule === true || rule === 'always') return true;
    if (rule === false || rule === 'never') return false;
    // 'annotated': read-only by the protocol, or a tool its server says can be repeated.
    if (READ_ONLY_METHODS.has(method)) return true;
    return method === 'tools/call' && this.#ctx.repeatable(route, String(params?.name));
  }
}

function isInputRequired(result: unknown): boolean {
  return (result as { resultType?: unknown } | null)?.resultType === 'input_required';
}

/** The signal a handler answering inputs gets: the caller's abort, and the call's deadline. */
function inputSignal(call: Call): AbortSignal {
  const signals: AbortSignal[] = [];
  if (call.signal) signals.push(call.signal);
  const left = call.deadline - performance.now();
  if (left < Infinity) signals.push(AbortSignal.timeout(Math.ceil(Math.max(0, Math.min(left, 2 ** 31 - 1)))));
  if (call.asks) signals.push(call.asks.ended);
  return AbortSignal.any(signals);
}
