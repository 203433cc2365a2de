/**
 * Per-client limits: at most `maxInFlight` calls of one client run at once, at most `maxQueue` more wait,
 * in order; beyond that a call is refused at once with E_QUEUE_FULL, which the client reads as a
 * JSON-RPC error. One client cannot starve the others of the upstreams they share.
 */
import { SwitchboardError } from '../core/errors.js';

export interface LimitOptions {
  maxInFlight: number;
  maxQueue: number;
}

export const DEFAULT_LIMITS: Readonly<LimitOptions> = Object.freeze({ maxInFlight: 32, maxQueue: 64 });

export class Limiter {
  readonly #opts: LimitOptions;
  #running = 0;
  readonly #waiting: { grant: () => void; signal: AbortSignal | undefined }[] = [];

  constructor(opts: LimitOptions = DEFAULT_LIMITS) {
    this.#opts = opts;
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Resolves with a release function once this call may run. */
  enter(signal?: AbortSignal): Promise<() => void> {
    if (this.#running < this.#opts.maxInFlight) {
      this.#running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiting.length >= this.#opts.maxQueue)
      return Promise.reject(
        new SwitchboardError(
          'E_QUEUE_FULL',
          `this client has ${this.#running} calls running and ${this.#waiting.length} waiting (the gateway's ` +
            'per-client limits); wait for some to finish',
        ),
      );
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#running++;
          resolve(this.#releaser());
        },
      };
      const onAbort = () => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) this.#waiting.splice(at, 1);
        reject(new SwitchboardError('E_ABORTED', 'the call was cancelled while it waited for its turn'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#running--;
      this.#waiting.shift()?.grant();
    };
  }
}
