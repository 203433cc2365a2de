/**
 * Calls held open across a 2026-07-28 client's `input_required` rounds.
 *
 * A 2025-era upstream asks its client with a real request (`elicitation/create`, ...) while the call runs;
 * a 2026-07-28 client can only be asked by an `input_required` result that ends its request. So the
 * gateway keeps the upstream call running, answers the client with `input_required` (its requestState
 * sealed, naming this parked call), and, when the client retries with its answers, hands them to the
 * waiting upstream request and goes on waiting for the next question or the result.
 *
 * States of one parked call: `running` (a client request waits on it) -> `held` (between rounds, with an
 * expiry timer owned by that state) -> `running` ... -> `done`. Expiry in `held` aborts the upstream call.
 */
import { randomUUID } from 'node:crypto';
import { SwitchboardError } from '../core/errors.js';
import type { CallToolResult } from '../switchboard/switchboard.js';

/** A question from the upstream, waiting for the client's answer. */
export interface Ask {
  key: string;
  method: string;
  params: Record<string, unknown>;
  resolve(result: Record<string, unknown>): void;
  reject(err: Error): void;
}

export type Turn = { kind: 'done'; result: CallToolResult } | { kind: 'ask'; asks: Ask[] };

type State = 'running' | 'held' | 'done';

export class ParkedCall {
  readonly id = randomUUID();
  readonly controller = new AbortController();
  #state: State = 'running';
  #result: Promise<CallToolResult> | undefined;
  #asks: Ask[] = [];
  #wake: (() => void) | undefined;
  #seq = 0;
  #expiry: NodeJS.Timeout | undefined;
  /** The client request of the current round, for progress. */
  round: unknown;

  get state(): State {
    return this.#state;
  }

  /** Starts the upstream call (once). */
  run(call: (signal: AbortSignal) => Promise<CallToolResult>): void {
    this.#result = call(this.controller.signal);
    this.#result.then(
      () => this.#wake?.(),
      () => this.#wake?.(),
    );
  }

  /** The handler the upstream call's server requests go to: each becomes a question for the client. */
  asker(
    method: string,
  ): (params: Record<string, unknown>, ctx: { signal: AbortSignal }) => Promise<Record<string, unknown>> {
    return (params, ctx) =>
      new Promise((resolve, reject) => {
        if (this.#state === 'done') {
          reject(new Error('the call this request belongs to has ended'));
          return;
        }
        const ask: Ask = { key: `q${this.#seq++}`, method, params, resolve, reject };
        ctx.signal.addEventListener('abort', () => {
          this.#asks = this.#asks.filter((a) => a !== ask);
          reject(new Error('the upstream withdrew the request'));
        });
        this.#asks.push(ask);
        this.#wake?.();
      });
  }

  /** Waits for what comes first: the call's result, or questions for the client. */
  async next(signal: AbortSignal): Promise<Turn> {
    this.#enter('running');
    const onAbort = () => this.controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.#asks.length > 0) return { kind: 'ask', asks: [...this.#asks] };
        const settled = await Promise.race([
          (this.#result as Promise<CallToolResult>).then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          ),
          new Promise<undefined>((resolve) => {
            this.#wake = () => resolve(undefined);
          }),
        ]);
        this.#wake = undefined;
        if (settled && this.#asks.length === 0) {
          this.#enter('done');
          if ('error' in settled) throw settled.error;
          return { kind: 'done', result: settled.result };
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Between rounds: held for at most `ms`, then the upstream call is cancelled. */
  hold(ms: number, onExpire: () => void): void {
    this.#enter('held');
    this.#expiry = setTimeout(() => {
      this.#enter('done');
      this.controller.abort(
        new SwitchboardError(
          'E_TIMEOUT',
          `the client did not answer within ${ms} ms; the call was cancelled`,
        ),
      );
      for (const ask of this.#asks.splice(0)) ask.reject(new Error('the client did not answer in time'));
      onExpire();
    }, ms);
    // The gateway's listener holds the process; an expiry alone must not.
    this.#expiry.unref();
  }

  /** Taken by a client's retry: out of `held` at once, so a second retry with the same state finds nothing. */
  resume(): void {
    this.#enter('running');
  }

  /** The client's answers, by the keys of the questions it was sent. Unanswered ones fail. */
  answer(responses: Record<string, unknown> | undefined): void {
    const asks = this.#asks.splice(0);
    for (const ask of asks) {
      const response = responses?.[ask.key];
      if (response && typeof response === 'object') ask.resolve(response as Record<string, unknown>);
      else ask.reject(new Error(`the client sent no answer for ${ask.method}`));
    }
  }

  /** Ends it at once (the gateway closes): the upstream call is cancelled. */
  cancel(reason: Error): void {
    this.#enter('done');
    // The upstream's waiting requests get their error first, then the call is cancelled.
    for (const ask of this.#asks.splice(0)) ask.reject(reason);
    this.controller.abort(reason);
  }

  #enter(state: State): void {
    // The expiry timer belongs to `held`; leaving it clears the timer.
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = undefined;
    this.#state = state;
  }
}

/** Every parked call, by id; bounded. */
export class Parking {
  readonly #calls = new Map<string, ParkedCall>();
  readonly #onEnd = new Map<string, () => void>();
  readonly #max: number;
  readonly holdMs: number;

  constructor(opts: { max: number; holdMs: number }) {
    this.#max = opts.max;
    this.holdMs = opts.holdMs;
  }

  /** A new parked call; `onEnd` runs once when it ends (answered, failed, expired or cancelled). */
  open(onEnd?: () => void): ParkedCall {
    if (this.#calls.size >= this.#max)
      throw new SwitchboardError(
        'E_QUEUE_FULL',
        `${this.#max} calls already wait for their clients' answers; answer or cancel them first`,
      );
    const call = new ParkedCall();
    this.#calls.set(call.id, call);
    if (onEnd) this.#onEnd.set(call.id, onEnd);
    return call;
  }

  /** The held call a client's retry names, taken out of `held`; undefined when expired or unknown. */
  take(id: string): ParkedCall | undefined {
    const call = this.#calls.get(id);
    if (call?.state !== 'held') return undefined;
    call.resume();
    return call;
  }

  hold(call: ParkedCall): void {
    call.hold(this.holdMs, () => this.drop(call));
  }

  drop(call: ParkedCall): void {
    this.#calls.delete(call.id);
    const onEnd = this.#onEnd.get(call.id);
    this.#onEnd.delete(call.id);
    onEnd?.();
  }

  get size(): number {
    return this.#calls.size;
  }

  closeAll(reason: Error): void {
    for (const call of [...this.#calls.values()]) {
      call.cancel(reason);
      this.drop(call);
    }
  }
}
