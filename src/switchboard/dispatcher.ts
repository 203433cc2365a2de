import { stampCallSite } from '../core/correlator.js';
import { isSwitchboardError, type SwitchboardError, timeoutError } from '../core/errors.js';
import type { Params } from '../core/jsonrpc.js';
import type { Call } from './call.js';
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

export interface DispatcherContext {
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

  dispatch(
    route: Route,
    method: string,
    params: Params | undefined,
    call: Call,
    retried = false,
  ): Promise<unknown> {
    const sup = route.sup;
    // Also refused during close()'s grace period: closing means no new calls. A server that is starting
    // or restarting takes calls into its (paused) mailbox; one that is down for longer refuses them now.
    const closed = this.#ctx.closed();
    if (closed || !sup.waitable) return Promise.reject(stampCallSite(closed ?? sup.unavailable(), call.site));
    let entered: boolean;
    try {
      entered = sup.mailbox.tryEnter();
    } catch (err) {
      return Promise.reject(stampCallSite(err as Error, call.site));
    }
    if (entered) return this.#send(route, method, params, call, retried);
    return sup.mailbox
      .enter({
        signal: call.signal,
        deadline: call.deadline < Infinity ? call.deadline : undefined,
        timeoutMs: call.timeoutMs,
      })
      .then(
        () => this.#send(route, method, params, call, retried),
        (err: Error) => {
          throw stampCallSite(err, call.site);
        },
      );
  }

  #send(
    route: Route,
    method: string,
    params: Params | undefined,
    call: Call,
    retried: boolean,
  ): Promise<unknown> {
    const mailbox = route.sup.mailbox;
    if (call.deadline - performance.now() < 1) {
      // The slot came as the deadline ran out: not sent, so the server does no work for nobody.
      mailbox.leave();
      return Promise.reject(
        stampCallSite(
          timeoutError(`${method} on '${route.sup.name}' (still queued)`, call.timeoutMs, {
            server: route.sup.name,
            method,
            stage: 'queued',
          }),
          call.site,
        ),
      );
    }
    const host = route.sup.host;
    if (!host) {
      // The connection went down between this call getting its slot and now: it was never sent, so it
      // goes back in line for the next connection (or fails, if none is coming).
      mailbox.leave();
      return this.dispatch(route, method, params, call, retried);
    }
    let sent: Promise<unknown>;
    try {
      sent = host.request(method, params, {
        signal: call.signal,
        timeoutMs: call.timeoutMs,
        deadline: call.deadline,
        onProgress: call.onProgress,
        site: call.site,
      });
    } catch (err) {
      mailbox.leave();
      return Promise.reject(err);
    }
    return sent.then(
      (result) => {
        mailbox.leave();
        return result;
      },
      (err: unknown) => {
        mailbox.leave();
        if (!retried && this.#mayRetry(route, method, params, call, err))
          return this.dispatch(route, method, params, call, true);
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
